"""``tune_workload``: tune one workload with any strategy, verify the best schedule, summarize."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import random
import time
from pathlib import Path
from typing import Any

from ..errors import VerificationError
from ..measure.latency import latency_us
from ..search.strategies import StrategySpec, make_strategy
from .confirm import Confirmation, confirm_fastest
from .driver import default_callbacks, run_tune_tir
from .recording import CHAT_DIR, RunManifest

logger = logging.getLogger("tvm_llm_sched.tune")


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
        Latency of the best schedule that verified numerically: its recorded measurement, or with
        a ``confirmation`` its re-timed median.
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
    confirmation : Confirmation | None
        How the fastest verified records re-timed side by side, when the run confirmed its best
        (``confirm_top`` > 1).
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
    replay_served: int | None = None
    replay_misses: int | None = None
    confirmation: Confirmation | None = None

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
                *self._confirmation_lines(),
                f"verified      max abs error {self.max_abs_err:.2e}"
                + (
                    f" ({self.rejected_as_wrong} wrong schedules rejected)"
                    if self.rejected_as_wrong
                    else ""
                ),
                f"records       {self.work_dir}/database_tuning_record.json",
            ]
            + (
                [
                    f"replayed      {self.replay_served} measurements served from the recording, "
                    f"{self.replay_misses} missed"
                ]
                if self.replay_served is not None
                else []
            )
        )

    def _confirmation_lines(self) -> list[str]:
        confirmed = self.confirmation
        if confirmed is None:
            return []
        which = (
            "the database's best record"
            if confirmed.rank == 0
            else f"record {confirmed.rank + 1} by recorded latency; the database's best "
            f"re-timed at {confirmed.first_median_us:.1f} us"
        )
        return [
            f"re-timed      median of {confirmed.rounds} rounds ({confirmed.fastest_us:.1f}-"
            f"{confirmed.slowest_us:.1f} us); recorded {confirmed.recorded_us:.1f} us",
            f"confirmed     fastest of {confirmed.candidates} verified records re-timed side by "
            f"side: {which}",
        ]


def fastest_verified(
    database: Any, workload: Any, target: Any, *, top_k: int = 8, want: int = 1, check: Any = None
) -> tuple[list[tuple[Any, float, Any]], int]:
    """The fastest records of ``workload`` whose schedules verify numerically, fastest first.

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
    want : int
        Stop after this many verified records.
    check : Callable[[tvm.s_tir.Schedule], VerifyReport] | None
        The checker; defaults to :class:`~tvm_llm_sched.verify.Verifier` with two seeds.

    Returns
    -------
    tuple
        ``(verified, wrong)``: up to ``want`` ``(record, latency_us, report)`` and how many faster
        records computed a wrong result (each logged as an error and skipped).

    Raises
    ------
    VerificationError
        If no record among the ``top_k`` best verifies.
    """
    if check is None:
        from ..verify import Verifier

        check = Verifier(workload.mod, target, seeds=(0, 1)).check
    committed = database.commit_workload(workload.mod)
    verified: list[tuple[Any, float, Any]] = []
    wrong = 0
    for record in database.get_top_k(committed, top_k):
        latency = latency_us(record)
        if latency is None:  # get_top_k lists only measured records; a failure is never best
            continue
        report = check(record.as_measure_candidate().sch)
        if report.ok:
            verified.append((record, latency, report))
            if len(verified) == want:
                break
            continue
        wrong += 1
        logger.error(
            "WRONG RESULT: a schedule measured at %.1f us disagrees with the unscheduled program "
            "(%s); it is not returned as best",
            latency,
            report.message,
        )
    if not verified:
        raise VerificationError(f"none of the {top_k} best schedules of {workload.name} verified")
    return verified, wrong


def best_verified(
    database: Any, workload: Any, target: Any, *, top_k: int = 8, check: Any = None
) -> tuple[Any, float, Any, int]:
    """The fastest record of ``workload`` whose schedule verifies numerically.

    Parameters are those of :func:`fastest_verified`.

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
    verified, wrong = fastest_verified(database, workload, target, top_k=top_k, check=check)
    return (*verified[0], wrong)


def _recording_proposer(proposer: Any, strategy: str, root: Path) -> tuple[Any, str]:
    """The proposer to tune with while recording, and its name for the run manifest."""
    from ..proposers import Proposer, create
    from ..proposers.factory import default_kind

    if strategy != "llm":
        return proposer, "none"
    if isinstance(proposer, Proposer):
        logger.warning(
            "recording: the replies of proposer %r are not recorded (pass proposer='openai' to "
            "record an endpoint); a replay must be given the same proposer",
            proposer.name,
        )
        return proposer, proposer.name
    kind = default_kind() if proposer is None else proposer
    if kind in ("openai", "local"):
        return create(kind, record_to=root / CHAT_DIR), kind
    if kind in ("expert", "random"):
        return kind, kind  # deterministic: the same situations get the same steps
    raise ValueError(
        f"cannot record proposer {proposer!r}; use 'openai', 'local', 'expert' or 'random'"
    )


def _replay_proposer(proposer: Any, manifest: RunManifest, root: Path) -> Any:
    """The proposer of a replay: the recorded exchanges, the expert policy, or the caller's."""
    if proposer is not None or manifest.strategy != "llm":
        return proposer
    if manifest.proposer in ("openai", "local"):
        from ..proposers import create

        return create("replay", path=root / CHAT_DIR, local=manifest.proposer_local)
    if manifest.proposer in ("expert", "random"):
        return manifest.proposer
    raise ValueError(
        f"the recorded run used proposer {manifest.proposer!r}, whose replies were not recorded; "
        "pass that proposer again"
    )


def _has_records(work_dir: Path) -> bool:
    records = work_dir / "database_tuning_record.json"
    return records.exists() and records.stat().st_size > 0


def tune_workload(
    workload: Any = None,
    *,
    trials: int = 64,
    strategy: str = "llm",
    target: Any = None,
    work_dir: str | Path | None = None,
    num_trials_per_iter: int = 16,
    seed: int | None = None,
    proposer: Any = None,
    progress: bool = True,
    record_to: str | Path | None = None,
    replay_from: str | Path | None = None,
    runner: Any = None,
    confirm_top: int = 1,
    confirm_rounds: int = 3,
) -> TuneResult:
    """Tune a workload with MetaSchedule and the chosen strategy, then verify the best schedule.

    Parameters
    ----------
    workload : str | Path | tvm.IRModule | Workload
        ``"GMM:1"``, a TVMScript file, or a module (see ``workloads.load_workload``).
    trials : int
        New trials to measure (a work dir that has records is resumed, not repeated).
    strategy : str
        ``"llm"`` (LLMGuidedSearch with ``proposer``), ``"evolutionary"``, ``"replay-trace"``,
        ``"replay-func"`` or ``module:callable`` (:mod:`tvm_llm_sched.search.strategies`).
    target : str | dict | tvm.target.Target | None
        Defaults to the host CPU with ``mcpu``.
    work_dir : str | Path | None
        Defaults to ``work_dirs/<workload>-<strategy>``. A work dir left torn by a killed run is
        repaired first (:func:`tvm_llm_sched.database.repair_work_dir`).
    num_trials_per_iter : int
        Candidates measured per iteration.
    seed : int | None
        Seed for the strategy and MetaSchedule.
    proposer : Proposer | str | None
        For ``"llm"``: a proposer or kind; None picks the configured endpoint or the expert policy.
    progress : bool
        Show a progress bar with trials and best latency.
    record_to : str | Path | None
        Record the run there: its settings (``run.json``, with a seed chosen if none was given),
        every measurement, and an LLM endpoint's exchanges (see
        :mod:`tvm_llm_sched.tune.recording`).
    replay_from : str | Path | None
        Replay a recorded run: settings from its ``run.json`` (``workload`` may be omitted; the
        budget, strategy, seed and target arguments are ignored), measurements and model replies
        served from the recording, nothing compiled or timed except the final verification. The
        work dir must hold no records. A faithful replay reports 0 misses and writes the same
        tuning records as the recorded run; that holds for ``"llm"`` (TVM's own strategies rank
        with NumPy's unseeded RNG during the cost model's warm-up, so their replays may miss).
    runner : ms.runner.Runner | None
        Where candidates are timed: MetaSchedule's ``LocalRunner`` by default, or e.g. an
        ``ms.runner.RPCRunner`` over a tracker (:func:`rpc_runner`) to measure on other machines.
        The final verification and the unscheduled reference still run on this machine.
    confirm_top : int
        Above 1: re-time this many of the fastest verified records side by side and return the
        one with the lowest median (:func:`~tvm_llm_sched.tune.confirm.confirm_fastest`): one
        recorded measurement can be a lucky draw. Only where candidates were timed here: not
        with ``runner`` or ``replay_from``.
    confirm_rounds : int
        Interleaved rounds of that re-timing.

    Returns
    -------
    TuneResult

    Raises
    ------
    VerificationError
        If no schedule among the best records computes the right result.
    DatabaseRecordError
        If ``replay_from`` holds no recorded run.
    ValueError
        For both ``record_to`` and ``replay_from``, a replay into a work dir with records, or no
        workload.
    """
    import tqdm

    from ..database import repair_work_dir
    from ..hardware import detect_cpu, resolve_target, target_to_dict, use_target_cores
    from ..measure import MeasurementStore, recording_measurer, replaying_measurer
    from ..measure.timing import EvaluatorSettings, time_unscheduled
    from ..tvm_compat import (
        install_runner_fix,
        local_builder,
        preload_tensor_intrin,
        require_xgboost,
    )
    from ..workloads import load_workload
    from .progress import ProgressCallback

    if record_to is not None and replay_from is not None:
        raise ValueError("record_to and replay_from exclude each other")
    require_xgboost()
    preload_tensor_intrin()
    # Re-timing compares programs where the candidates were timed: on this machine, for real.
    confirming = confirm_top > 1 and runner is None and replay_from is None
    replay = None
    owned = contextlib.ExitStack()
    if replay_from is not None:
        replay_from = Path(replay_from)
        manifest = RunManifest.load(replay_from)
        workload = workload if workload is not None else manifest.workload
        strategy, trials, seed = manifest.strategy, manifest.trials, manifest.seed
        num_trials_per_iter, target = manifest.num_trials_per_iter, manifest.target
        proposer = _replay_proposer(proposer, manifest, replay_from)
        replay = replaying_measurer(MeasurementStore(replay_from))
    if workload is None:
        raise ValueError("no workload: pass one (the recorded run used an in-memory module)")
    spec = str(workload) if isinstance(workload, (str, os.PathLike)) else None
    workload = load_workload(workload)
    target = resolve_target(target)
    use_target_cores(target)
    install_runner_fix()  # every strategy's "local" runner measures integer-indexed tasks
    builder, runner = local_builder(), runner if runner is not None else "local"
    if replay is not None:
        builder, runner = replay.builder, replay.runner
    elif record_to is not None:
        record_to = Path(record_to)
        if seed is None:  # a replay must take the same random path
            seed = random.SystemRandom().randint(1, 2**31 - 1)
        given = proposer
        proposer, proposer_name = _recording_proposer(proposer, strategy, record_to)
        if proposer is not given and hasattr(proposer, "close"):
            owned.callback(proposer.close)  # made here: closed here (a model server stops)
        RunManifest(
            workload=spec,
            strategy=strategy,
            trials=trials,
            num_trials_per_iter=num_trials_per_iter,
            seed=seed,
            target=target_to_dict(target),
            proposer=proposer_name,
            proposer_local=bool(getattr(proposer, "local", False)),
        ).save(record_to)
        recorder = recording_measurer(builder, runner, MeasurementStore(record_to))
        builder, runner = recorder.builder, recorder.runner
    chosen = make_strategy(strategy, proposer=proposer, seed=seed)
    suffix = "-replay" if replay is not None else ""
    spec_of_strategy = StrategySpec(strategy.strip())
    slug = spec_of_strategy.slug
    work_dir = Path(work_dir or Path("work_dirs") / f"{workload.slug}-{slug}{suffix}")
    if replay is not None and _has_records(work_dir):
        raise ValueError(f"a replay needs a work dir without records; {work_dir} has some")
    repair_work_dir(work_dir)  # a torn last line would make TVM refuse the whole work dir
    start = time.perf_counter()
    with (
        owned,
        tqdm.tqdm(total=trials, unit="trial", desc=workload.name, disable=not progress) as bar,
    ):
        database = run_tune_tir(
            workload.mod,
            target,
            work_dir,
            max_trials=trials,
            num_trials_per_iter=num_trials_per_iter,
            builder=builder,
            runner=runner,
            measure_callbacks=[*default_callbacks(), ProgressCallback(bar)],
            cost_model=spec_of_strategy.cost_model(detect_cpu(target).cores),
            strategy=chosen,
            seed=seed,
            quiet=progress,
        )
    wall = time.perf_counter() - start
    want = confirm_top if confirming else 1
    verified, wrong = fastest_verified(
        database, workload, target, top_k=max(8, 2 * want), want=want
    )
    confirmation = None
    if confirming:
        confirmation = confirm_fastest(
            [record.as_measure_candidate().sch for record, _, _ in verified],
            [latency for _, latency, _ in verified],
            target,
            rounds=confirm_rounds,
        )
    record, best_us, report = verified[confirmation.rank if confirmation else 0]
    if confirmation is not None:
        best_us = confirmation.median_us
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
        replay_served=replay.counter.served if replay is not None else None,
        replay_misses=replay.misses if replay is not None else None,
        confirmation=confirmation,
    )


def rpc_runner(
    tracker: str, key: str, *, session_timeout_s: float = 60.0, max_workers: int | None = None
) -> Any:
    """An ``ms.runner.RPCRunner`` that times candidates on the devices a tracker serves.

    Parameters
    ----------
    tracker : str
        ``host:port`` of a ``python -m tvm.exec.rpc_tracker``.
    key : str
        The device key the servers registered with (``python -m tvm.exec.rpc_server
        --tracker host:port --key KEY``).
    session_timeout_s : float
        Per-session timeout.
    max_workers : int | None
        Parallel sessions (default: as many as MetaSchedule picks).

    Raises
    ------
    ValueError
        ``tracker`` is not ``host:port``.
    """
    from tvm.s_tir.meta_schedule.runner import RPCConfig, RPCRunner

    host, sep, port = tracker.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"--rpc-tracker must be host:port, got {tracker!r}")
    config = RPCConfig(
        tracker_host=host,
        tracker_port=int(port),
        tracker_key=key,
        session_timeout_sec=session_timeout_s,
    )
    return RPCRunner(config, max_workers=max_workers)
