"""Timing wrappers around a tuning run's strategy, builder, runner and measure callbacks.

MetaSchedule's task scheduler (C++) drives one iteration of a single-task ``ms.tune_tir`` as::

    generate_measure_candidates -> Builder.build -> Runner.run -> RunnerFuture.result
        -> notify_runner_results -> measure callbacks (database commit, cost-model update)

Wrapping each of these objects (never patching TVM) lets a :class:`Recorder` split every
iteration's wall time into search, build, run and update seconds, and read each trial's latency
off the callbacks' ``runner_results``. Time spent before the first candidate (``pre_tuning``,
design-space generation, context setup) lands in the first iteration; ``post_tuning`` lands in the
last one, so the iterations' walls add up to the whole run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from tvm.ir.utils import derived_object
from tvm.s_tir.meta_schedule.builder import PyBuilder
from tvm.s_tir.meta_schedule.measure_callback import PyMeasureCallback
from tvm.s_tir.meta_schedule.runner import PyRunner, PyRunnerFuture
from tvm.s_tir.meta_schedule.search_strategy import PySearchStrategy

from ..measure.latency import latency_us
from .records import IterationRecord, TrialRecord

PHASES = ("search", "build", "run", "update")


def _latency_and_error(builder_result: Any, runner_result: Any) -> tuple[float, str | None]:
    """Latency in microseconds (:func:`~tvm_llm_sched.measure.latency_us`), or ``inf`` with
    the build/run error message."""
    if builder_result.error_msg:
        return math.inf, f"build: {builder_result.error_msg}"
    if runner_result.error_msg:
        return math.inf, f"run: {runner_result.error_msg}"
    latency = latency_us(runner_result)
    if latency is None:
        return math.inf, "run: no valid run_secs reported"
    return latency, None


class Recorder:
    """Collects phase times and trial results of one tuning run, iteration by iteration.

    Parameters
    ----------
    on_iteration : callable, optional
        Called with each finished :class:`IterationRecord` (used to write partial results).

    Examples
    --------
    >>> rec = Recorder()
    >>> rec.start()
    >>> rec.add("search", 0.5)
    >>> rec.iterations
    []
    """

    def __init__(self, on_iteration: Callable[[IterationRecord], None] | None = None) -> None:
        self.on_iteration = on_iteration
        self.iterations: list[IterationRecord] = []
        self._t0 = self._last_end = time.perf_counter()
        self._pending = dict.fromkeys(PHASES, 0.0)
        self._best = math.inf
        self._sources: list[str] = []
        self.proposer_stats: dict[str, Any] | None = None
        """The model proposer's call statistics, read when the strategy finishes."""

    def start(self) -> None:
        """Mark the start of the run (wall time 0)."""
        self._t0 = self._last_end = time.perf_counter()

    def add(self, phase: str, seconds: float) -> None:
        """Charge ``seconds`` of ``phase`` (search/build/run/update) to the open iteration."""
        self._pending[phase] += seconds

    def set_sources(self, sources: list[str] | None) -> None:
        """Where the candidates of the open iteration came from, in measuring order (a strategy
        that does not say leaves them unknown)."""
        self._sources = list(sources or [])

    def end_iteration(self, builder_results: list[Any], runner_results: list[Any]) -> None:
        """Close the open iteration with its measured candidates."""
        now = time.perf_counter()
        count = len(runner_results)
        first = sum(len(it.trials) for it in self.iterations)
        trials = []
        sources = self._sources if len(self._sources) == count else [None] * count
        for offset, (b_res, r_res) in enumerate(zip(builder_results, runner_results, strict=True)):
            latency, error = _latency_and_error(b_res, r_res)
            self._best = min(self._best, latency)
            trials.append(
                TrialRecord(
                    index=first + offset,
                    latency_us=latency,
                    best_us=self._best,
                    elapsed_s=now - self._t0,
                    iteration=len(self.iterations),
                    error=error,
                    source=sources[offset],
                )
            )
        record = IterationRecord(
            index=len(self.iterations),
            wall_s=now - self._last_end,
            elapsed_s=now - self._t0,
            num_candidates=count,
            trials=trials,
            **{f"{phase}_s": self._pending[phase] for phase in PHASES},
        )
        self.iterations.append(record)
        self._pending = dict.fromkeys(PHASES, 0.0)
        self._sources = []
        self._last_end = now
        if self.on_iteration is not None:
            self.on_iteration(record)

    def finish(self) -> None:
        """Fold what ran after the last callbacks (``post_tuning``) into the last iteration."""
        if not self.iterations:
            return
        now = time.perf_counter()
        last = self.iterations[-1]
        for phase in PHASES:
            setattr(last, f"{phase}_s", getattr(last, f"{phase}_s") + self._pending[phase])
        last.wall_s += now - self._last_end
        last.elapsed_s = now - self._t0
        for trial in last.trials:
            trial.elapsed_s = last.elapsed_s
        last.share()
        self._pending = dict.fromkeys(PHASES, 0.0)
        self._last_end = now


class _Timer:
    """Context manager charging its duration to one phase of a recorder."""

    def __init__(self, recorder: Recorder, phase: str) -> None:
        self.recorder, self.phase = recorder, phase

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.recorder.add(self.phase, time.perf_counter() - self.start)


@derived_object
class TimedSearchStrategy(PySearchStrategy):
    """Delegates every lifecycle call to ``inner`` and charges it to the search phase.

    Parameters
    ----------
    inner : ms.search_strategy.SearchStrategy
        A built-in strategy (``SearchStrategy.create("evolutionary")``) or any derived object.
    recorder : Recorder
        Shared by the clones ``TuneContext.clone`` makes.
    """

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def _initialize_with_tune_context(self, context: Any) -> None:
        with _Timer(self.recorder, "search"):
            self.inner._initialize_with_tune_context(context)

    def pre_tuning(
        self, max_trials, num_trials_per_iter, design_spaces, database=None, cost_model=None
    ):  # noqa: D102
        with _Timer(self.recorder, "search"):
            self.inner.pre_tuning(
                max_trials, num_trials_per_iter, design_spaces, database, cost_model
            )

    def post_tuning(self) -> None:  # noqa: D102
        with _Timer(self.recorder, "search"):
            self.inner.post_tuning()  # first: it waits for a model call still in flight
        # LLMGuidedSearch reports its model proposer's calls; TVM's strategies have none.
        stats = getattr(self.inner, "proposer_stats", None)
        if callable(stats):
            self.recorder.proposer_stats = stats()

    def generate_measure_candidates(self):  # noqa: D102
        with _Timer(self.recorder, "search"):
            candidates = self.inner.generate_measure_candidates()
        # LLMGuidedSearch says where each candidate came from; TVM's strategies do not.
        self.recorder.set_sources(getattr(self.inner, "batch_sources", None))
        return candidates

    def notify_runner_results(self, measure_candidates, results) -> None:  # noqa: D102
        with _Timer(self.recorder, "search"):
            self.inner.notify_runner_results(measure_candidates, results)

    def clone(self):  # noqa: D102
        # A Python strategy (derived object) is cloned in Python: TVM's FFI clone hands back a
        # bare PySearchStrategy whose Python attributes (batch_sources) are out of reach.
        python_inner = getattr(self.inner, "_inst", None)
        inner = python_inner.clone() if python_inner is not None else self.inner.clone()
        return TimedSearchStrategy(inner, self.recorder)


@derived_object
class TimedBuilder(PyBuilder):
    """Delegates ``build`` to ``inner`` (e.g. ``LocalBuilder``), charged to the build phase."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def build(self, build_inputs):  # noqa: D102
        with _Timer(self.recorder, "build"):
            return self.inner.build(build_inputs)


@derived_object
class _TimedFuture(PyRunnerFuture):
    """A runner future whose waiting is charged to the run phase."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def done(self) -> bool:  # noqa: D102
        with _Timer(self.recorder, "run"):
            return self.inner.done()

    def result(self):  # noqa: D102
        with _Timer(self.recorder, "run"):
            return self.inner.result()


@derived_object
class TimedRunner(PyRunner):
    """Delegates ``run`` to ``inner`` (e.g. ``LocalRunner``); the run phase includes the waiting
    on its futures, since ``LocalRunner`` measures in a background process pool."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def run(self, runner_inputs):  # noqa: D102
        with _Timer(self.recorder, "run"):
            futures = self.inner.run(runner_inputs)
        return [_TimedFuture(future, self.recorder) for future in futures]


@derived_object
class TimedCallbacks(PyMeasureCallback):
    """Runs MetaSchedule's measure callbacks (update phase), then closes the iteration."""

    def __init__(self, inner: list[Any], recorder: Recorder) -> None:
        self.inner = list(inner)
        self.recorder = recorder

    def apply(self, task_scheduler, task_id, measure_candidates, builder_results, runner_results):  # noqa: D102
        with _Timer(self.recorder, "update"):
            for callback in self.inner:
                callback.apply(
                    task_scheduler, task_id, measure_candidates, builder_results, runner_results
                )
        self.recorder.end_iteration(list(builder_results), list(runner_results))
