"""Record a tuning run's measurements, and serve them again instead of building and running.

A search strategy's next batch depends on the latencies measured so far, and those differ from
run to run. To replay a whole tuning run, the measurements must be replayed along with the
model's replies: :func:`recording_measurer` wraps a builder and runner and writes every result to
a :class:`~tvm_llm_sched.measure.MeasurementStore`; :func:`replaying_measurer` returns a builder
and runner that answer from the store without compiling or timing anything.

A candidate that was never recorded is a replay miss: its build fails with a message that starts
with ``"replay miss"`` and names the store, the run continues, and
:attr:`ReplayMeasurer.misses` counts it. A program measured several times (a strategy may measure
one program twice, each time with its own noise) is served its recorded measurements in order; a
request beyond the last one gets the last one again.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from tvm.ir.utils import derived_object
from tvm.s_tir.meta_schedule.builder import BuilderResult, PyBuilder
from tvm.s_tir.meta_schedule.runner import PyRunner, PyRunnerFuture, RunnerResult

from .store import Measurement, MeasurementStore, module_key

logger = logging.getLogger("tvm_llm_sched.measure")

REPLAY_SUFFIX = ".replay"


@dataclass
class _Ledger:
    """Keys of built artifacts, from the builder to the runner (MetaSchedule passes only paths)."""

    keys: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, artifact_path: str, key: str) -> None:
        with self.lock:
            self.keys[artifact_path] = key

    def take(self, artifact_path: str) -> str | None:
        with self.lock:
            return self.keys.pop(artifact_path, None)


@derived_object
class RecordingBuilder(PyBuilder):
    """Build with ``builder``; record build failures and remember each artifact's module key."""

    def __init__(self, builder: Any, store: MeasurementStore, ledger: _Ledger):
        super().__init__()
        self.builder, self.store, self.ledger = builder, store, ledger

    def build(self, build_inputs: list[Any]) -> list[Any]:
        results = self.builder.build(build_inputs)
        for build_input, result in zip(build_inputs, results, strict=True):
            key = module_key(build_input.mod)
            if result.error_msg:
                self.store.put(Measurement(key=key, build_error=str(result.error_msg)))
            else:
                self.ledger.remember(str(result.artifact_path), key)
        return results


@derived_object
class _RecordingFuture(PyRunnerFuture):
    """The inner runner's future; records its result the first time it is fetched."""

    def __init__(self, inner: Any, key: str | None, store: MeasurementStore):
        super().__init__()
        self.inner, self.key, self.store = inner, key, store
        self.recorded = False

    def done(self) -> bool:
        return bool(self.inner.done())

    def result(self) -> Any:
        result = self.inner.result()
        if not self.recorded and self.key is not None:
            secs = result.run_secs
            self.store.put(
                Measurement(
                    key=self.key,
                    run_secs=tuple(float(s) for s in secs) if secs is not None else None,
                    run_error=str(result.error_msg) if result.error_msg else None,
                )
            )
            self.recorded = True
        return result


@derived_object
class RecordingRunner(PyRunner):
    """Run with ``runner`` and record every result under the module key of its artifact."""

    def __init__(self, runner: Any, store: MeasurementStore, ledger: _Ledger):
        super().__init__()
        self.runner, self.store, self.ledger = runner, store, ledger

    def run(self, runner_inputs: list[Any]) -> list[Any]:
        futures = self.runner.run(runner_inputs)
        return [
            _RecordingFuture(future, self.ledger.take(str(runner_input.artifact_path)), self.store)
            for runner_input, future in zip(runner_inputs, futures, strict=True)
        ]


@derived_object
class _ReadyFuture(PyRunnerFuture):
    """A runner future that is done from the start."""

    def __init__(self, run_secs: list[float] | None, error_msg: str | None):
        super().__init__()
        self.run_secs, self.error_msg = run_secs, error_msg

    def done(self) -> bool:
        return True

    def result(self) -> Any:
        return RunnerResult(self.run_secs, self.error_msg)


class ReplayCounter:
    """How many candidates a replay served from the store, and how many it missed."""

    def __init__(self) -> None:
        self.served = 0
        self.misses = 0
        self._lock = threading.Lock()

    def count(self, *, hit: bool) -> None:
        with self._lock:
            if hit:
                self.served += 1
            else:
                self.misses += 1


class _ReplayCursor:
    """Which recorded measurement of each key the replay serves next."""

    def __init__(self, store: MeasurementStore):
        self.store = store
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> tuple[int, Measurement] | None:
        """The index and measurement to serve for the next build of ``key``, or None (a miss)."""
        history = self.store.history(key)
        if not history:
            return None
        with self._lock:
            index = min(self._next.get(key, 0), len(history) - 1)
            self._next[key] = index + 1
        return index, history[index]

    def lookup(self, artifact_name: str) -> Measurement | None:
        """The measurement named by a ``<key>.<index>.replay`` artifact, or None."""
        if not artifact_name.endswith(REPLAY_SUFFIX):
            return None
        key, _, index = artifact_name[: -len(REPLAY_SUFFIX)].rpartition(".")
        history = self.store.history(key)
        return history[int(index)] if index.isdigit() and int(index) < len(history) else None


@derived_object
class ReplayBuilder(PyBuilder):
    """Look candidates up instead of compiling them: a recorded build failure fails again, a
    recorded run gets a ``<key>.<index>.replay`` artifact for :class:`ReplayRunner`, a miss
    fails."""

    def __init__(self, cursor: _ReplayCursor, counter: ReplayCounter):
        super().__init__()
        self.cursor, self.counter = cursor, counter

    def build(self, build_inputs: list[Any]) -> list[Any]:
        results = []
        for build_input in build_inputs:
            key = module_key(build_input.mod)
            served = self.cursor.take(key)
            self.counter.count(hit=served is not None)
            if served is None:
                store = self.cursor.store
                logger.warning("replay miss: no measurement of module %s in %s", key, store)
                results.append(
                    BuilderResult(None, f"replay miss: module {key} was not measured in {store}")
                )
                continue
            index, measurement = served
            if measurement.build_error is not None:
                results.append(BuilderResult(None, measurement.build_error))
            else:
                # MetaSchedule's task scheduler removes each artifact's directory after the run:
                # give it an empty one to remove.
                folder = tempfile.mkdtemp(prefix="tvm_llm_sched-replay-")
                name = f"{key}.{index}{REPLAY_SUFFIX}"
                results.append(BuilderResult(os.path.join(folder, name), None))
        return results


@derived_object
class ReplayRunner(PyRunner):
    """Return the recorded timings of ``<key>.<index>.replay`` artifacts without running
    anything."""

    def __init__(self, cursor: _ReplayCursor):
        super().__init__()
        self.cursor = cursor

    def run(self, runner_inputs: list[Any]) -> list[Any]:
        futures = []
        for runner_input in runner_inputs:
            path = str(runner_input.artifact_path)
            measurement = self.cursor.lookup(os.path.basename(path))
            if measurement is None:
                futures.append(_ReadyFuture(None, f"replay miss: {path} is not a replay artifact"))
            else:
                secs = list(measurement.run_secs) if measurement.run_secs is not None else None
                futures.append(_ReadyFuture(secs, measurement.run_error))
        return futures


@dataclass(frozen=True)
class RecordingMeasurer:
    """A builder and runner pair for ``ms.tune_tir(builder=..., runner=...)`` that records."""

    builder: Any
    runner: Any
    store: MeasurementStore


@dataclass(frozen=True)
class ReplayMeasurer:
    """A builder and runner pair that serves a recorded run; see :attr:`counter` for misses."""

    builder: Any
    runner: Any
    store: MeasurementStore
    counter: ReplayCounter

    @property
    def misses(self) -> int:
        """Candidates the recording did not hold (0 for a faithful replay)."""
        return self.counter.misses


def recording_measurer(builder: Any, runner: Any, store: MeasurementStore) -> RecordingMeasurer:
    """Wrap ``builder`` and ``runner`` so every result is also written to ``store``.

    Examples
    --------
    >>> m = recording_measurer(local_builder(), "local", MeasurementStore("rec"))  # doctest: +SKIP
    >>> ms.tune_tir(mod, target, work, 64, builder=m.builder, runner=m.runner)  # doctest: +SKIP
    """
    from tvm.s_tir.meta_schedule.runner import Runner

    if isinstance(runner, str):
        runner = Runner.create(runner)
    ledger = _Ledger()
    return RecordingMeasurer(
        builder=RecordingBuilder(builder, store, ledger),
        runner=RecordingRunner(runner, store, ledger),
        store=store,
    )


def replaying_measurer(store: MeasurementStore) -> ReplayMeasurer:
    """A builder and runner that answer every candidate from ``store`` (no compiler, no device)."""
    counter, cursor = ReplayCounter(), _ReplayCursor(store)
    return ReplayMeasurer(
        builder=ReplayBuilder(cursor, counter),
        runner=ReplayRunner(cursor),
        store=store,
        counter=counter,
    )
