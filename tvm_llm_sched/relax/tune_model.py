"""Tune a whole model: extract its tasks, tune them with MetaSchedule's task scheduler, compile with
the database applied, check the outputs and time the result against the untuned build."""

from __future__ import annotations

import dataclasses
import logging
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tvm.ir.utils import derived_object
from tvm.s_tir.meta_schedule.measure_callback import PyMeasureCallback

from ..database.repair import repair_work_dir
from ..errors import ModelError, VerificationError
from ..measure.latency import latency_us
from ..tune.progress import advance_bar
from .models import Model
from .pipeline import finish_weight_prepack, prepare_for_tuning, resolve_target

logger = logging.getLogger("tvm_llm_sched.relax")

RTOL = 1e-3
ATOL = 1e-3
"""Tolerance of the tuned build against the untuned one and the source framework (float32 sums
reassociated by tiling and vectorization)."""


@dataclasses.dataclass(frozen=True)
class TaskResult:
    """One tuned task: its name, how often the model calls it, valid trials, best latency."""

    name: str
    weight: int
    trials: int
    best_us: float | None
    scheduled: bool


@dataclasses.dataclass
class ModelTuneResult:
    """What :func:`tune_model` did and measured (latencies in milliseconds)."""

    model: str
    strategy: str
    target: str
    work_dir: str
    trials_per_task: int
    weight_prepack: bool
    tasks: list[TaskResult]
    tune_s: float
    tuned_ms: float
    untuned_ms: float
    reference_ms: float | None
    max_error_vs_untuned: float
    max_error_vs_reference: float | None

    @property
    def speedup(self) -> float:
        """Untuned over tuned end-to-end latency."""
        return self.untuned_ms / self.tuned_ms

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``speedup`` included)."""
        data = dataclasses.asdict(self)
        data["speedup"] = self.speedup
        return data

    def summary(self) -> str:
        """A readable report: latencies, the per-task table, where the records are."""
        lines = [
            f"model {self.model}: {len(self.tasks)} tasks, {self.trials_per_task} trials each, "
            f"strategy {self.strategy}, target {self.target}"
            + (", weights prepacked" if self.weight_prepack else "")
            + f", tuned in {self.tune_s:.0f} s",
            f"end to end: tuned {self.tuned_ms:.3f} ms, untuned {self.untuned_ms:.3f} ms "
            f"({self.speedup:.2f}x)"
            + (f", PyTorch eager {self.reference_ms:.3f} ms" if self.reference_ms else ""),
            f"outputs: max |tuned - untuned| {self.max_error_vs_untuned:.2e}"
            + (
                f", max |tuned - PyTorch| {self.max_error_vs_reference:.2e}"
                if self.max_error_vs_reference is not None
                else ""
            ),
            "",
            f"{'task':<40} {'weight':>6} {'trials':>6} {'best us':>10}  applied",
        ]
        for task in self.tasks:
            best = f"{task.best_us:10.1f}" if task.best_us is not None else f"{'-':>10}"
            lines.append(
                f"{task.name[:40]:<40} {task.weight:>6} {task.trials:>6} {best}  "
                + ("yes" if task.scheduled else "no (default schedule)")
            )
        lines += ["", f"records: {self.work_dir}"]
        return "\n".join(lines)


@derived_object
class TaskProgress(PyMeasureCallback):
    """One ``tqdm`` bar per task: trials measured and best latency."""

    def __init__(self, names: Sequence[str], trials_per_task: int):
        from tqdm import tqdm

        self.bars = [
            tqdm(total=trials_per_task, desc=name[:32], position=i, leave=True, unit="trial")
            for i, name in enumerate(names)
        ]
        self.best = [math.inf] * len(self.bars)

    def apply(
        self,
        task_scheduler: Any,
        task_id: int,
        measure_candidates: list[Any],
        builder_results: list[Any],
        runner_results: list[Any],
    ) -> None:
        self.best[task_id] = advance_bar(self.bars[task_id], self.best[task_id], runner_results)

    def close(self) -> None:
        """Close every bar."""
        for bar in self.bars:
            bar.close()


def _strategy_object(strategy: Any, proposer: Any, seed: int | None) -> tuple[Any, str]:
    if isinstance(strategy, str):
        from ..search.strategies import make_strategy

        return make_strategy(strategy, proposer=proposer, seed=seed), strategy
    return strategy, type(strategy).__name__


@dataclasses.dataclass
class LoadedBuild:
    """A compiled model in a Relax VM with its inputs on the device: run it, time it."""

    vm: Any
    args: list[Any]

    @classmethod
    def load(cls, executable: Any, inputs: Sequence[np.ndarray]) -> LoadedBuild:
        """``executable`` (from ``tvm.compile``) on the CPU with ``inputs``."""
        import tvm
        from tvm import relax

        device = tvm.cpu()
        return cls(
            relax.VirtualMachine(executable, device), [tvm.runtime.tensor(a) for a in inputs]
        )

    def outputs(self) -> list[np.ndarray]:
        """``main``'s outputs, flattened."""
        return _arrays(self.vm["main"](*self.args))

    def latency_ms(self, repeat: int = 20) -> float:
        """Median of ``repeat`` timed runs of ``main`` (each at least 50 ms of repetitions)."""
        import tvm

        timer = self.vm.time_evaluator("main", tvm.cpu(), number=1, repeat=repeat, min_repeat_ms=50)
        return timer(*self.args).median * 1e3


def apply_records(
    prepared: Any, work_dir: str | Path, target: Any, *, weight_prepack: bool = False
) -> Any:
    """A module from :func:`~tvm_llm_sched.relax.pipeline.prepare_for_tuning` with the work dir's
    best records applied (``MetaScheduleApplyDatabase``); functions without a record stay as
    they are. ``weight_prepack`` must be what the module was prepared (and tuned) with."""
    from tvm import relax

    with target:
        applied = relax.transform.MetaScheduleApplyDatabase(str(work_dir))(prepared)
        return finish_weight_prepack(applied) if weight_prepack else applied


def reference_latency_ms(model: Model, repeat: int = 20) -> float | None:
    """Median wall time of the source framework's eager run (None without a reference)."""
    if model.reference is None:
        return None
    model.reference(model.inputs)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        model.reference(model.inputs)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _arrays(out: Any) -> list[np.ndarray]:
    if hasattr(out, "numpy"):
        return [out.numpy()]
    return [a for item in out for a in _arrays(item)]


def _max_error(got: list[np.ndarray], want: list[np.ndarray], what: str) -> float:
    if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want, strict=True)):
        raise VerificationError(
            f"the tuned model's outputs {[g.shape for g in got]} do not match {what}'s "
            f"{[w.shape for w in want]}"
        )
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        error = float(np.max(np.abs(g.astype(np.float64) - w))) if g.size else 0.0
        if not np.allclose(g, w, rtol=RTOL, atol=ATOL):
            raise VerificationError(
                f"the tuned model disagrees with {what}: max abs error {error:.3g}"
            )
        worst = max(worst, error)
    return worst


def _task_results(tasks: Sequence[Any], database: Any, scheduled: set[str]) -> list[TaskResult]:
    every = max(len(database.get_all_tuning_records()), 1)
    results = []
    for task in tasks:
        mod = task.dispatched[0]
        records = []
        if database.has_workload(mod):
            records = database.get_top_k(database.commit_workload(mod), every)
        results.append(
            TaskResult(
                name=task.task_name,
                weight=int(task.weight),
                trials=len(records),
                best_us=latency_us(records[0]) if records else None,
                scheduled=task.task_name in scheduled,
            )
        )
    return results


def tune_model(
    model: Model,
    *,
    trials_per_task: int = 64,
    strategy: Any = "llm",
    proposer: Any = None,
    target: Any = None,
    work_dir: str | Path = "tuning_logs",
    num_trials_per_iter: int = 16,
    seed: int | None = None,
    progress: bool = True,
    quiet: bool | None = None,
    repeat: int = 20,
    weight_prepack: bool = False,
) -> ModelTuneResult:
    """Tune every task of ``model``, compile with the records applied, check and time it.

    Parameters
    ----------
    model : Model
        From :func:`~tvm_llm_sched.relax.load_model` or :func:`~tvm_llm_sched.relax.from_torch`.
    trials_per_task : int
        Trials per task; the global budget is this times the number of tasks.
    strategy : str | SearchStrategy
        A name of the strategy registry (``"llm"``, ``"evolutionary"``, ...) or an object.
    proposer : Proposer | str | None
        For the ``llm`` strategies.
    target : Target | str | dict | None
        Default: the host CPU.
    work_dir : str | Path
        The MetaSchedule work dir (repaired first if a write was torn).
    num_trials_per_iter, seed
        As for ``tune_relax``.
    progress : bool
        A bar per task.
    quiet : bool | None
        MetaSchedule's console at WARNING while tuning; default: when ``progress`` is on.
    repeat : int
        Timed runs of each build (the median is reported).
    weight_prepack : bool
        Let tuned schedules store weights in the layout they read (TVM's ``cpu_weight_prepack``;
        see :func:`~tvm_llm_sched.relax.pipeline.prepare_for_tuning`). The weights bound into
        the model as constants are rewritten at compile time, so its inputs stay the same.

    Returns
    -------
    ModelTuneResult

    Raises
    ------
    ModelError
        The model has no tunable task.
    VerificationError
        The tuned build's outputs disagree with the untuned build or the source framework.
    """
    import tvm
    from tvm.s_tir import meta_schedule as ms

    from ..tune.driver import default_callbacks, quiet_console
    from ..tvm_compat import local_builder, local_runner

    target = resolve_target(target)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    repair_work_dir(work_dir)
    prepared = prepare_for_tuning(model.mod, target, weight_prepack=weight_prepack)
    tasks = ms.relax_integration.extract_tasks(prepared, target)
    if not tasks:
        raise ModelError(f"model '{model.name}' has no operator MetaSchedule can tune")
    search, label = _strategy_object(strategy, proposer, seed)
    bars = TaskProgress([t.task_name for t in tasks], trials_per_task) if progress else None
    start = time.perf_counter()
    try:
        with quiet_console(progress if quiet is None else quiet):
            database = ms.relax_integration.tune_relax(
                prepared,
                params={},
                target=target,
                work_dir=str(work_dir),
                max_trials_global=trials_per_task * len(tasks),
                max_trials_per_task=trials_per_task,
                num_trials_per_iter=num_trials_per_iter,
                strategy=search,
                # Ours for every strategy: a builder whose workers skip the slow tensor-intrinsic
                # import, a runner that can measure embedding lookups (integer-indexed inputs).
                builder=local_builder(),
                runner=local_runner(),
                measure_callbacks=[*default_callbacks(), *([bars] if bars else [])],
                seed=seed,
            )
    finally:
        if bars is not None:
            bars.close()
    tune_s = time.perf_counter() - start

    applied = apply_records(prepared, work_dir, target)
    scheduled = {
        gv.name_hint
        for gv, func in applied.functions_items()
        if isinstance(func, tvm.tirx.PrimFunc) and func.attrs and "tirx.is_scheduled" in func.attrs
    }
    results = _task_results(tasks, database, scheduled)
    for task in results:
        if not task.scheduled:
            logger.warning("task %s has no tuning record: it keeps the default schedule", task.name)
    if weight_prepack:  # after the check: the split renames each function to <name>_prepacked
        applied = finish_weight_prepack(applied)

    tuned = LoadedBuild.load(tvm.compile(applied, target), model.inputs)
    untuned = LoadedBuild.load(tvm.compile(model.mod, target), model.inputs)
    tuned_out = tuned.outputs()
    error_untuned = _max_error(tuned_out, untuned.outputs(), "the untuned build")
    error_reference = None
    if model.reference is not None:
        error_reference = _max_error(tuned_out, model.reference(model.inputs), model.source)
    return ModelTuneResult(
        model=model.name,
        strategy=label,
        target=str(target.attrs.get("mcpu", target.kind.name)),
        work_dir=str(work_dir),
        trials_per_task=trials_per_task,
        weight_prepack=weight_prepack,
        tasks=results,
        tune_s=tune_s,
        tuned_ms=tuned.latency_ms(repeat),
        untuned_ms=untuned.latency_ms(repeat),
        reference_ms=reference_latency_ms(model, repeat),
        max_error_vs_untuned=error_untuned,
        max_error_vs_reference=error_reference,
    )
