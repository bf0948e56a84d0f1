"""One strategy against the others: speedups on median best latencies, per seed, search time per
iteration, and the ceiling that the fastest program found by any run sets."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


def speedup_summary(ratios: dict[str, float]) -> tuple[float, int]:
    """Geometric mean of per-workload speedups (other / ours) and the number above 1 (wins)."""
    return statistics.geometric_mean(ratios.values()), sum(r > 1 for r in ratios.values())


def display_name(strategy: str) -> str:
    """A strategy's short name: ``pkg.mod:LLMGuidedSearch`` -> ``LLMGuidedSearch``."""
    return strategy.rsplit(":", 1)[-1]


@dataclass
class _Cell:
    """One (workload, strategy) at one budget: best latency per seed, search time per iteration."""

    latency_by_seed: dict[int, float]
    search_per_iter: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.latency_by_seed.values())


def _cells(rows: Sequence[dict], trials_per_iter: int) -> dict[tuple[str, str, int], _Cell]:
    cells: dict[tuple[str, str, int], _Cell] = defaultdict(lambda: _Cell({}, []))
    for row in rows:
        key = (str(row["workload"]), display_name(str(row["strategy"])), int(row["budget"]))
        latency = float(row["best_latency_us"])
        if not math.isfinite(latency):
            continue
        cell = cells[key]
        cell.latency_by_seed[int(row["seed"])] = latency
        iterations = max(1, math.ceil(int(row["trials"]) / trials_per_iter))
        cell.search_per_iter.append(float(row["search_s"]) / iterations)
    return dict(cells)


def comparison_lines(
    rows: Sequence[dict], ours: str, *, trials_per_iter: int, title_level: str = "###"
) -> list[str]:
    """Markdown comparing ``ours`` with every other strategy in ``rows`` (summary rows).

    At the largest budget: a table of median best latencies, the speedups of ``ours`` (other /
    ours) on the medians and per seed, and search seconds per iteration; then the geometric mean
    at every budget, the per-seed win count, and the ceiling: the geometric mean ``ours`` would
    reach had each of its runs found the fastest program that any run found on that workload.
    Returns no lines when ``ours`` or any other strategy is missing.

    Parameters
    ----------
    rows : sequence of dict
        :func:`~tvm_llm_sched.bench.summary.summary_rows` output (or summary.csv rows).
    ours : str
        Display name of the strategy compared with the others (``LLMGuidedSearch``).
    trials_per_iter : int
        ``num_trials_per_iter`` of the runs, to turn search seconds into seconds per iteration.
    """
    cells = _cells(rows, trials_per_iter)
    budgets = sorted({budget for _, _, budget in cells})
    if not budgets:
        return []
    top = budgets[-1]
    workloads = list(dict.fromkeys(w for w, s, b in cells if s == ours and b == top))
    others = list(dict.fromkeys(s for w, s, b in cells if s != ours and b == top))
    if not workloads or not others:
        return []

    def ratios(other: str, budget: int) -> dict[str, float]:
        return {
            w: cells[w, other, budget].median / cells[w, ours, budget].median
            for w in workloads
            if (w, other, budget) in cells and (w, ours, budget) in cells
        }

    header = ["Workload", f"{ours} (us)", *(f"{o} (us)" for o in others)]
    header += [f"vs {o}" for o in others] + [f"per seed vs {o}" for o in others]
    header += [f"search s/iter: {ours} / {o}" for o in others]
    lines = [
        f"{title_level} {ours} against the other strategies at {top} trials",
        "",
        "Median over seeds of each run's best latency; speedup = other / ours (> 1: ours is "
        "faster); search time is the strategy's own time per iteration (median over seeds).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for w in workloads:
        mine = cells[w, ours, top]
        theirs = [cells.get((w, o, top)) for o in others]
        row = [w, f"{mine.median:.1f}"]
        row += [f"{c.median:.1f}" if c else "-" for c in theirs]
        row += [f"{c.median / mine.median:.2f}x" if c else "-" for c in theirs]
        for c in theirs:
            seeds = sorted(set(mine.latency_by_seed) & set(c.latency_by_seed)) if c else []
            row.append(
                " / ".join(f"{c.latency_by_seed[s] / mine.latency_by_seed[s]:.2f}" for s in seeds)
                or "-"
            )
        for c in theirs:
            if not c:
                row.append("-")
                continue
            own, other = (statistics.median(x.search_per_iter) for x in (mine, c))
            row.append(f"{own:.1f} / {other:.1f}")
        lines.append("| " + " | ".join(row) + " |")
    geomeans = [ratios(o, top) for o in others]
    lines.append(
        "| geometric mean |"
        + " |" * len(others)
        + " |"
        + "".join(f" **{statistics.geometric_mean(r.values()):.2f}x** |" for r in geomeans)
        + " |" * (2 * len(others))
    )
    lines.append("")
    for budget in budgets:
        parts = []
        for other in others:
            r = ratios(other, budget)
            if r:
                geomean, wins = speedup_summary(r)
                parts.append(f"{geomean:.2f}x vs {other} (faster on {wins} of {len(r)} workloads)")
        if parts:
            lines.append(f"- At {budget} trials: " + ", ".join(parts) + ".")
    for other in others:
        pairs = [
            (cells[w, ours, top].latency_by_seed[s], cells[w, other, top].latency_by_seed[s])
            for w in workloads
            if (w, other, top) in cells
            for s in cells[w, ours, top].latency_by_seed
            if s in cells[w, other, top].latency_by_seed
        ]
        wins = sum(theirs > mine for mine, theirs in pairs)
        lines.append(
            f"- Per (workload, seed) at {top} trials, {ours} is faster than {other} in {wins} of "
            f"{len(pairs)}."
        )
    fastest = {
        w: min(
            latency
            for (cw, _, b), cell in cells.items()
            if cw == w and b == top
            for latency in cell.latency_by_seed.values()
        )
        for w in workloads
    }
    for other in others:
        ceiling = [
            cells[w, other, top].median / fastest[w] for w in workloads if (w, other, top) in cells
        ]
        lines.append(
            f"- Ceiling vs {other}: {statistics.geometric_mean(ceiling):.2f}x, had every {ours} "
            f"run found the fastest program that any run (any strategy, any seed) found on its "
            f"workload at {top} trials."
        )
    return lines + [""]
