"""Run a benchmark matrix: every strategy on every workload, interleaved, resumable.

For each workload, for each seed, for each strategy (so machine drift hits all strategies
alike), one ``ms.tune_tir`` run at the largest budget (or one per budget with
``separate_budgets``), on the same target with the same builder, runner and
``num_trials_per_iter``. Each finished run is written at once; a rerun skips it. A run killed
midway keeps its measured iterations in an ``attempt`` file and restarts from scratch in a
fresh work_dir (warm-starting from a half-filled database would flatter it).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
from collections.abc import Callable
from pathlib import Path

from ..hardware import detect_cpu, resolve_target, use_target_cores
from ..search.strategies import StrategySpec, parse_strategies
from ..tune.driver import default_callbacks, run_tune_tir
from ..tvm_compat import local_runner, require_xgboost
from ..workloads import Workload, load_workload
from .builders import make_builder
from .config import BenchConfig
from .plots import plot_all
from .records import IterationRecord, References, RunRecord, write_json
from .references import measure_references
from .report import render_report, write_section
from .store import BenchStore
from .summary import summary_rows, write_csv
from .timing import Recorder, TimedBuilder, TimedCallbacks, TimedRunner, TimedSearchStrategy

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RunKey:
    """One cell of the matrix."""

    workload: Workload
    strategy: StrategySpec
    seed: int
    budget: int

    @property
    def run_id(self) -> str:
        """``GMM_1__evolutionary__s0__t64``."""
        return f"{self.workload.slug}__{self.strategy.slug}__s{self.seed}__t{self.budget}"


@dataclasses.dataclass
class BenchResults:
    """Finished runs and references of an output directory."""

    runs: list[RunRecord]
    references: dict[str, References]


def plan(config: BenchConfig) -> list[RunKey]:
    """The matrix in execution order: workload, then seed, then strategy, then budget."""
    strategies = parse_strategies(list(config.strategies))
    workloads = [load_workload(spec) for spec in config.workloads]
    return [
        RunKey(workload, strategy, seed, budget)
        for workload in workloads
        for seed in config.seeds
        for strategy in strategies
        for budget in config.run_budgets
    ]


def tune_one(
    key: RunKey,
    config: BenchConfig,
    target,
    store: BenchStore,
    on_iteration: Callable[[IterationRecord], None] | None = None,
    quiet: bool = False,
) -> RunRecord:
    """Tune one matrix cell from scratch with timing wrappers and store the finished run.

    With ``quiet``, MetaSchedule logs to the work_dir's files only, not the console.
    """

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    attempt = store.begin_attempt(
        key.run_id,
        {
            "run_id": key.run_id,
            "workload": key.workload.name,
            "strategy": key.strategy.spec,
            "seed": key.seed,
            "max_trials": key.budget,
            "started_at": started,
        },
    )

    def record_iteration(iteration: IterationRecord) -> None:
        store.append_iteration(key.run_id, iteration)
        if on_iteration is not None:
            on_iteration(iteration)

    recorder = Recorder(on_iteration=record_iteration)
    cores = detect_cpu(target).cores
    builder = make_builder(config.builder, max_workers=cores, timeout_s=config.builder_timeout_s)
    runner = local_runner(
        timeout_sec=config.runner_timeout_s, evaluator_config=config.evaluator.evaluator_config()
    )
    recorder.start()
    run_tune_tir(
        key.workload.mod,
        target,
        store.work_dir(key.run_id),
        max_trials=key.budget,
        num_trials_per_iter=config.num_trials_per_iter,
        builder=TimedBuilder(builder, recorder),
        runner=TimedRunner(runner, recorder),
        measure_callbacks=[TimedCallbacks(default_callbacks(), recorder)],
        cost_model=key.strategy.cost_model(cores),
        strategy=TimedSearchStrategy(key.strategy.factory()(), recorder),
        seed=key.seed,
        quiet=quiet,
    )
    recorder.finish()
    run = RunRecord(
        run_id=key.run_id,
        workload=key.workload.name,
        strategy=key.strategy.label,
        strategy_spec=key.strategy.spec,
        seed=key.seed,
        max_trials=key.budget,
        num_trials_per_iter=config.num_trials_per_iter,
        target=str(target),
        flops=key.workload.flops,
        wall_s=recorder.iterations[-1].elapsed_s if recorder.iterations else 0.0,
        iterations=recorder.iterations,
        attempt=attempt,
        builder=config.builder,
        started_at=started,
        command=config.command,
        proposer=recorder.proposer_stats,
    )
    store.save_run(run)
    return run


def _has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _progress(total: int, initial: int):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="trial", dynamic_ncols=True, mininterval=1.0)


def run_matrix(config: BenchConfig, *, progress: bool = True) -> BenchResults:
    """Run (or resume) the whole matrix and return every finished run.

    Parameters
    ----------
    config : BenchConfig
        The matrix.
    progress : bool
        Show a tqdm bar (matrix position, current best).

    Raises
    ------
    FileExistsError
        If another process is benchmarking into the same directory.
    """
    # MetaSchedule's design-space generation imports tvm.s_tir.tensor_intrin on first use (tens
    # of seconds in TVM 0.27); do it now so the first run of the process is not charged for it.
    import tvm.s_tir.tensor_intrin  # noqa: F401

    require_xgboost()
    if not _has_matplotlib():  # the plots come last: say so before hours of tuning
        logger.warning("matplotlib is missing: no plots (pip install 'tvm-llm-sched[bench]')")
    target = resolve_target(config.target)
    use_target_cores(target)
    keys = plan(config)
    store = BenchStore(config.out_dir)
    runs: list[RunRecord] = []
    with store.lock():
        done = {key.run_id: store.load_run(key.run_id) for key in keys}
        bar = (
            _progress(
                sum(key.budget for key in keys),
                sum(key.budget for key in keys if done[key.run_id] is not None),
            )
            if progress
            else None
        )
        references = store.load_references()
        for position, key in enumerate(keys, start=1):
            if key.workload.name not in references:
                references[key.workload.name] = measure_references(
                    key.workload, target, config.evaluator
                )
                store.save_references(key.workload.slug, references[key.workload.name])
            run = done[key.run_id]
            if run is None:
                if bar is not None:
                    bar.set_description(f"[{position}/{len(keys)}] {key.run_id}")
                run = tune_one(
                    key, config, target, store, on_iteration=_bar_update(bar), quiet=progress
                )
            else:
                logger.info("skipping finished run %s", key.run_id)
            runs.append(run)
        if bar is not None:
            bar.close()
    return BenchResults(runs=runs, references=references)


def _bar_update(bar) -> Callable[[IterationRecord], None] | None:
    if bar is None:
        return None

    def update(iteration: IterationRecord) -> None:
        best = min((t.best_us for t in iteration.trials), default=math.inf)
        bar.update(iteration.num_candidates)
        bar.set_postfix_str(f"best={best:.1f}us")

    return update


def load_results(out_dir) -> BenchResults:
    """Whatever an output directory holds (finished runs only), e.g. while a matrix still runs."""
    store = BenchStore(out_dir)
    return BenchResults(runs=store.load_runs(), references=store.load_references())


def write_outputs(
    results: BenchResults,
    budgets: tuple[int, ...],
    out_dir,
    *,
    report: Path | None = None,
    command: str = "",
    notes: tuple[str, ...] = (),
) -> dict[str, Path]:
    """Write the combined JSON, ``summary.csv``, the PNG plots and (optionally) the report
    (with ``notes`` as caveats).

    Works on a partial matrix: it uses whatever runs ``results`` holds.

    Returns
    -------
    dict
        Output kind (``json``, ``csv``, ``plots``, ``report``) to path.
    """
    out_dir = Path(out_dir)
    combined = out_dir / "results.json"
    write_json(
        combined,
        {
            "command": command,
            "budgets": list(budgets),
            "references": {name: ref.to_json() for name, ref in results.references.items()},
            "runs": [run.to_json() for run in results.runs],
        },
    )
    csv_path = out_dir / "summary.csv"
    write_csv(csv_path, summary_rows(results.runs, results.references, budgets))
    paths = {"json": combined, "csv": csv_path}
    if _has_matplotlib():
        plot_all(results.runs, results.references, max(budgets), out_dir / "plots")
        paths["plots"] = out_dir / "plots"
    if report is not None:
        section = render_report(
            results, budgets, command=command, out_dir=str(out_dir), notes=notes
        )
        write_section(Path(report), section)
        paths["report"] = Path(report)
    return paths
