"""``tune_workload``: tune one workload with any strategy, verify the best schedule, summarize."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import VerificationError

logger = logging.getLogger("tvm_llm_sched.tune")

STRATEGIES = ("llm", "evolutionary", "replay-trace", "replay-func")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TuneResult:
    """What a tuning run produced.

    Attributes
    ----------
    workload : str
        Workload name.
    strategy : str
        Strategy name.
    trials : int
        Records in the work dir's database for this workload (including earlier runs).
    best_latency_us : float
        Latency of the best schedule that verified numerically.
    gflops : float
        Its throughput.
    unscheduled_latency_us : float
        The program as written, built for the same target.
    max_abs_err : float
        Verification error of the best schedule against the unscheduled program.
    rejected_as_wrong : int
        Faster records that failed verification and were not returned.
    work_dir : str
        Where the MetaSchedule database (``database_*.json``) and logs are.
    wall_s : float
        Wall time of tuning (without the final verification and reference timing).
    schedule : Any
        The best ``tvm.s_tir.Schedule``.
    """

    workload: str
    strategy: str
    trials: int
    best_latency_us: float
    gflops: float
    unscheduled_latency_us: float
    max_abs_err: float
    rejected_as_wrong: int
    work_dir: str
    wall_s: float
    schedule: Any = dataclasses.field(repr=False, compare=False)

    @property
    def speedup(self) -> float:
        """Unscheduled latency / best latency."""
        return self.unscheduled_latency_us / self.best_latency_us

    def summary(self) -> str:
        """A few lines for people."""
        return "\n".join(
            [
                f"workload      {self.workload} ({self.strategy}, {self.trials} trials, "
                f"{self.wall_s:.0f} s)",
                f"best latency  {self.best_latency_us:.1f} us  ({self.gflops:.1f} GFLOP/s)",
                f"unscheduled   {self.unscheduled_latency_us:.1f} us  "
                f"-> speedup {self.speedup:.1f}x",
                f"verified      max abs error {self.max_abs_err:.2e}"
                + (
                    f" ({self.rejected_as_wrong} wrong schedules rejected)"
                    if self.rejected_as_wrong
                    else ""
                ),
                f"records       {self.work_dir}/database_tuning_record.json",
            ]
        )


@contextlib.contextmanager
def _quiet_console(quiet: bool) -> Iterator[None]:
    """Keep MetaSchedule's console at WARNING (its log files in the work dir still get DEBUG).

    MetaSchedule copies the level of its logger into its console handler when a tuning run starts,
    so the progress bar is not buried under task tables and XGBoost iterations.
    """
    ms_logger = logging.getLogger("tvm.s_tir.meta_schedule")
    previous = ms_logger.level
    if quiet:
        ms_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        ms_logger.setLevel(previous)


def make_strategy(name: str, *, proposer: Any = None, seed: int | None = None) -> Any:
    """A strategy for ``ms.tune_tir``: ``"llm"`` is :class:`LLMGuidedSearch`, others TVM's.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if name == "llm":
        from ..search import LLMGuidedSearch

        return LLMGuidedSearch(proposer, seed=seed)
    if name in STRATEGIES:
        return name
    raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")


def best_verified(
    database: Any, workload: Any, target: Any, *, top_k: int = 8, check: Any = None
) -> tuple[Any, float, Any, int]:
    """The fastest record of ``workload`` whose schedule verifies numerically.

    Parameters
    ----------
    database : ms.database.Database
        Where the records are.
    workload : Workload
        The workload (its unscheduled module is the reference).
    target : tvm.target.Target
        Target to build both for.
    top_k : int
        How many of the fastest records to try.
    check : Callable[[tvm.s_tir.Schedule], VerifyReport] | None
        The checker; defaults to :class:`~tvm_llm_sched.verify.Verifier` with two seeds.

    Returns
    -------
    tuple
        ``(record, latency_us, report, wrong)``; ``wrong`` counts faster records that computed a
        wrong result (each logged as an error and skipped).

    Raises
    ------
    VerificationError
        If no record among the ``top_k`` best verifies.
    """
    if check is None:
        from ..verify import Verifier

        check = Verifier(workload.mod, target, seeds=(0, 1)).check
    committed = database.commit_workload(workload.mod)
    wrong = 0
    for record in database.get_top_k(committed, top_k):
        secs = [float(s) for s in record.run_secs]
        sch = record.as_measure_candidate().sch
        report = check(sch)
        if report.ok:
            return record, 1e6 * sum(secs) / len(secs), report, wrong
        wrong += 1
        logger.error(
            "WRONG RESULT: a schedule measured at %.1f us disagrees with the unscheduled program "
            "(%s); it is not returned as best",
            1e6 * sum(secs) / len(secs),
            report.message,
        )
    raise VerificationError(f"none of the {top_k} best schedules of {workload.name} verified")


def tune_workload(
    workload: Any,
    *,
    trials: int = 64,
    strategy: str = "llm",
    target: Any = None,
    work_dir: str | Path | None = None,
    num_trials_per_iter: int = 16,
    seed: int | None = None,
    proposer: Any = None,
    progress: bool = True,
) -> TuneResult:
    """Tune a workload with MetaSchedule and the chosen strategy, then verify the best schedule.

    Parameters
    ----------
    workload : str | Path | tvm.IRModule | Workload
        ``"GMM:1"``, a TVMScript file, or a module (see ``workloads.load_workload``).
    trials : int
        New trials to measure (a work dir that has records is resumed, not repeated).
    strategy : str
        ``"llm"`` (LLMGuidedSearch with ``proposer``), ``"evolutionary"``, ``"replay-trace"`` or
        ``"replay-func"``.
    target : str | dict | tvm.target.Target | None
        Defaults to the host CPU with ``mcpu``.
    work_dir : str | Path | None
        Defaults to ``work_dirs/<workload>-<strategy>``.
    num_trials_per_iter : int
        Candidates measured per iteration.
    seed : int | None
        Seed for the strategy and MetaSchedule.
    proposer : Proposer | str | None
        For ``"llm"``: a proposer or kind; None picks the configured endpoint or the expert policy.
    progress : bool
        Show a progress bar with trials and best latency.

    Returns
    -------
    TuneResult

    Raises
    ------
    VerificationError
        If no schedule among the best records computes the right result.
    """
    import tqdm
    from tvm.s_tir import meta_schedule as ms

    from ..bench.references import EvaluatorSettings, time_unscheduled
    from ..hardware import resolve_target
    from ..tvm_compat import local_builder, preload_tensor_intrin
    from ..workloads import load_workload
    from .progress import ProgressCallback

    preload_tensor_intrin()
    workload = load_workload(workload)
    target = resolve_target(target)
    chosen = make_strategy(strategy, proposer=proposer, seed=seed)
    work_dir = Path(work_dir or Path("work_dirs") / f"{workload.slug}-{strategy}")
    work_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with (
        _quiet_console(progress),
        tqdm.tqdm(total=trials, unit="trial", desc=workload.name, disable=not progress) as bar,
    ):
        database = ms.tune_tir(
            workload.mod,
            target,
            str(work_dir),
            max_trials_global=trials,
            num_trials_per_iter=num_trials_per_iter,
            builder=local_builder(),
            measure_callbacks=[
                *ms.measure_callback.MeasureCallback.create("default"),
                ProgressCallback(bar),
            ],
            strategy=chosen,
            seed=seed,
        )
    wall = time.perf_counter() - start
    record, best_us, report, wrong = best_verified(database, workload, target)
    unscheduled_s, _ = time_unscheduled(workload, target, EvaluatorSettings())
    committed = database.commit_workload(workload.mod)
    return TuneResult(
        workload=workload.name,
        strategy=strategy,
        trials=len(database.get_top_k(committed, 1_000_000)),
        best_latency_us=best_us,
        gflops=workload.flops / (best_us * 1e3),
        unscheduled_latency_us=unscheduled_s * 1e6,
        max_abs_err=report.max_abs_err,
        rejected_as_wrong=wrong,
        work_dir=str(work_dir),
        wall_s=wall,
        schedule=record.as_measure_candidate().sch,
    )
