"""Reading tuning curves at trial budgets, and the CSV summary table."""

from __future__ import annotations

import collections
import csv
import dataclasses
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..search.engine import CANDIDATE_SOURCES
from .records import References, RunRecord


@dataclasses.dataclass(frozen=True)
class BudgetPoint:
    """A run's state after ``budget`` trials.

    ``trials`` is smaller than ``budget`` when the strategy stopped early (e.g. a small design
    space ran out); the point then describes the whole run.
    """

    budget: int
    trials: int
    best_us: float
    elapsed_s: float
    search_s: float
    build_s: float
    run_s: float
    update_s: float
    failed: int
    time_to_5pct_s: float = math.nan
    sources: dict[str, int] = dataclasses.field(default_factory=dict)

    def source_share(self, source: str) -> float | None:
        """Percentage of the trials ``source`` made (``None`` when the strategy did not say)."""
        known = sum(self.sources.values())
        return 100.0 * self.sources.get(source, 0) / known if known else None


def read_at_budget(run: RunRecord, budget: int) -> BudgetPoint:
    """Best-so-far and cumulative times of the first ``budget`` trials of ``run``.

    The wall time is the end of the iteration holding trial ``budget``: a budget that is not a
    multiple of ``num_trials_per_iter`` therefore includes the whole iteration.

    ``time_to_5pct_s`` is the wall time at which the run first came within 5 % of its best at
    ``budget`` (a search that finds its best late spends its time differently from one that
    finds it early and idles); ``sources`` counts trials by where they came from.

    Examples
    --------
    Reading 16 and 32 off one 64-trial run gives the same numbers a 16- or 32-trial run would,
    up to the strategy's behaviour depending on ``max_trials`` (the built-ins' does not, until
    the last iteration).
    """
    if budget < 1:
        raise ValueError(f"a budget must be >= 1, got {budget}")
    trials = run.trials[:budget]
    if not trials:
        return BudgetPoint(budget, 0, math.inf, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
    best = trials[-1].best_us
    within = next((t for t in trials if t.best_us <= best * 1.05), None)
    return BudgetPoint(
        budget=budget,
        trials=len(trials),
        best_us=trials[-1].best_us,
        elapsed_s=trials[-1].elapsed_s,
        search_s=sum(t.search_s for t in trials),
        build_s=sum(t.build_s for t in trials),
        run_s=sum(t.run_s for t in trials),
        update_s=sum(t.update_s for t in trials),
        failed=sum(1 for t in trials if t.error is not None),
        time_to_5pct_s=within.elapsed_s if within is not None and math.isfinite(best) else math.nan,
        sources=dict(collections.Counter(t.source for t in trials if t.source)),
    )


def trials_to_reach(run: RunRecord, latency_us: float) -> int | None:
    """How many trials ``run`` needed until its best-so-far was at or below ``latency_us``
    (``None``: it never got there).

    Examples
    --------
    Sample efficiency: if EvolutionarySearch first reaches LLMGuidedSearch's 64-trial latency at
    trial 300, it needed 300 / 64 = 4.7x the trials.
    """
    return next((t.index + 1 for t in run.trials if t.best_us <= latency_us), None)


SUMMARY_COLUMNS = (
    "workload",
    "strategy",
    "seed",
    "budget",
    "trials",
    "best_latency_us",
    "gflops",
    "pct_of_peak",
    "search_s",
    "build_s",
    "run_s",
    "update_s",
    "wall_s",
    "time_to_5pct_s",
    "pct_from_proposer",
    "pct_from_mutation",
    "pct_from_sampling",
    "speedup_vs_unscheduled",
    "numpy_us",
    "failed_trials",
    "model_calls",
    "prompt_tokens_per_call",
    "completion_tokens_per_call",
    "seconds_per_call",
    "parse_rate",
    "apply_rate",
    "first_menu_share",
)
_CALL_COLUMNS = SUMMARY_COLUMNS[SUMMARY_COLUMNS.index("model_calls") :]
"""Whole-run model-call statistics (the same at every budget of a run), blank without a model."""


def run_for_budget(runs: Sequence[RunRecord], budget: int) -> RunRecord | None:
    """The run to read ``budget`` from: the one tuned at exactly that budget (separate budgets),
    else the smallest larger one (one max-budget run read at every smaller budget)."""
    fitting = [run for run in runs if run.max_trials >= budget]
    return min(fitting, key=lambda run: run.max_trials) if fitting else None


def summary_rows(
    runs: Iterable[RunRecord], references: dict[str, References], budgets: Sequence[int]
) -> list[dict[str, object]]:
    """One row per (workload, strategy, seed, budget), in first-seen run order."""
    groups: dict[tuple[str, str, int], list[RunRecord]] = {}
    for run in runs:
        groups.setdefault((run.workload, run.strategy, run.seed), []).append(run)
    rows = []
    for (workload, strategy, seed), group in groups.items():
        ref = references.get(workload)
        for budget in sorted(budgets):
            run = run_for_budget(group, budget)
            if run is None:
                continue
            point = read_at_budget(run, budget)
            gflops = run.flops / (point.best_us * 1e3) if math.isfinite(point.best_us) else 0.0
            rows.append(
                {
                    "workload": workload,
                    "strategy": strategy,
                    "seed": seed,
                    "budget": budget,
                    "trials": point.trials,
                    "best_latency_us": round(point.best_us, 3),
                    "gflops": round(gflops, 2),
                    "pct_of_peak": round(100 * gflops / ref.peak_gflops, 2) if ref else "",
                    "search_s": round(point.search_s, 2),
                    "build_s": round(point.build_s, 2),
                    "run_s": round(point.run_s, 2),
                    "update_s": round(point.update_s, 2),
                    "wall_s": round(point.elapsed_s, 2),
                    "time_to_5pct_s": _blank_or_round(point.time_to_5pct_s),
                    **{
                        f"pct_from_{source}": _blank_or_round(point.source_share(source))
                        for source in CANDIDATE_SOURCES
                    },
                    "speedup_vs_unscheduled": (
                        round(ref.unscheduled_us / point.best_us, 2)
                        if ref and math.isfinite(ref.unscheduled_us) and point.best_us > 0
                        else ""
                    ),
                    "numpy_us": round(ref.numpy_us, 3) if ref and ref.numpy_us else "",
                    "failed_trials": point.failed,
                    **_call_cells(run.proposer),
                }
            )
    return rows


def _call_cells(stats: dict[str, object] | None) -> dict[str, object]:
    """The model-call columns of a run's row."""
    stats = stats or {}
    cells = {name: stats.get(name) for name in _CALL_COLUMNS}
    cells["model_calls"] = stats.get("calls")
    return {k: "" if v is None else v for k, v in cells.items()}


def _blank_or_round(value: float | None) -> object:
    """A CSV cell: blank for an unknown (``None``) or non-finite value."""
    return "" if value is None or not math.isfinite(value) else round(value, 1)


def write_csv(path: Path, rows: Sequence[dict[str, object]]) -> None:
    """Write the summary rows with :data:`SUMMARY_COLUMNS` as header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
