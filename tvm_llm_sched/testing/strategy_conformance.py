"""A conformance suite every MetaSchedule search strategy must pass, plus the helpers behind it.

Modelled on Optuna's ``optuna/testing/pytest_samplers.py``: a test module joins by subclassing
:class:`StrategyConformance` and providing a ``strategy_factory`` fixture, a zero-argument
callable that returns a fresh strategy::

    import pytest
    from tvm.s_tir import meta_schedule as ms
    from tvm_llm_sched.testing import StrategyConformance

    @pytest.mark.tuning
    class TestEvolutionary(StrategyConformance):
        @pytest.fixture
        def strategy_factory(self):
            return lambda: ms.search_strategy.EvolutionarySearch(population_size=64)

Override the class attribute ``conformance = ConformanceConfig(...)`` to change the workload or
the budgets. Everything is real TVM: candidates are compiled, verified numerically and timed.

The checks come in two halves:

- by hand (:class:`HandTuner`): the strategy inside an ``ms.TuneContext``, called in the order
  MetaSchedule's task scheduler uses (``pre_tuning``; then per iteration
  ``generate_measure_candidates`` -> measure -> ``notify_runner_results`` -> commit the records to
  the database -> update the cost model; ``post_tuning``). Candidates are compiled and timed in
  this process (:func:`measure_in_process`), which gives real ``RunnerResult`` objects in a
  fraction of the time popen workers need; scripted runs are reported as failures with an
  ``error_msg``, as a broken build or run would be;
- through ``ms.tune_tir`` (:func:`tune`): MetaSchedule's builder, runner, JSON database and task
  scheduler, then ``compile_tir`` from the database reopened from disk (:func:`check_work_dir`).

C++ strategies (``EvolutionarySearch``) pass the hand-driven half too: the lifecycle is an FFI
interface, and :class:`HandTuner` calls it through the context's strategy object exactly as the
task scheduler does.

This module imports neither TVM nor pytest at import time (``tvm_llm_sched.testing`` is imported by
the policy server at run time); the test methods need pytest's ``tmp_path`` fixture.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Collection, Sequence
from typing import Any

from ..measure.latency import FAILED_RUN_SECS, latency_us

StrategyFactory = Callable[[], Any]
"""Returns a fresh search strategy (``ms.search_strategy.SearchStrategy`` or a derived object)."""

INJECTED_FAILURE = "injected failure (strategy conformance check)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConformanceConfig:
    """Workload and budgets of the conformance checks.

    Attributes
    ----------
    workload : str
        A :func:`~tvm_llm_sched.workloads.load_workload` name; its space must hold far more
        distinct schedules than ``max_trials`` (a strategy that stops early fails the checks).
    max_trials : int
        Trials of each hand-driven run.
    num_trials_per_iter : int
        Trials per iteration of the hand-driven runs (at least two iterations make sense).
    tune_trials : int
        ``max_trials_global`` of the ``ms.tune_tir`` run.
    tune_trials_per_iter : int
        ``num_trials_per_iter`` of the ``ms.tune_tir`` run.
    cost_model : str
        ``"xgb"`` or ``"random"``, for both halves.
    seed : int
        ``rand_state`` of the hand-driven contexts and ``seed`` of ``ms.tune_tir``.

    Examples
    --------
    >>> ConformanceConfig(workload="C1D:0").max_trials
    8
    """

    workload: str = "GMM:0"
    max_trials: int = 8
    num_trials_per_iter: int = 4
    tune_trials: int = 8
    tune_trials_per_iter: int = 4
    cost_model: str = "xgb"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("max_trials", "num_trials_per_iter", "tune_trials", "tune_trials_per_iter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ConformanceConfig.{name} must be an int >= 1, got {value!r}")
        if self.num_trials_per_iter > self.max_trials:
            raise ValueError("ConformanceConfig.num_trials_per_iter must be <= max_trials")
        if self.tune_trials_per_iter > self.tune_trials:
            raise ValueError("ConformanceConfig.tune_trials_per_iter must be <= tune_trials")
        if self.cost_model not in ("xgb", "random"):
            raise ValueError(
                f"ConformanceConfig.cost_model must be 'xgb' or 'random', got {self.cost_model!r}"
            )


# -- helpers ---------------------------------------------------------------------------------------
@functools.cache
def conformance_workload(name: str) -> Any:
    """The :class:`~tvm_llm_sched.workloads.Workload` ``name`` (loaded once per process)."""
    from ..workloads import load_workload

    return load_workload(name)


def schedule_key(program: Any) -> int:
    """Structural hash of a schedule's module (or of a module): equal programs, equal keys."""
    import tvm_ffi

    return int(tvm_ffi.structural_hash(getattr(program, "mod", program)))


def replay_record(record: Any, mod: Any = None) -> Any:
    """The schedule a tuning record's trace produces on ``mod`` (its workload's module by default).

    Raises whatever the trace raises when it does not apply: an invalid trace is a failed check.
    """
    import tvm

    sch = tvm.s_tir.Schedule(mod if mod is not None else record.workload.mod)
    record.trace.apply_to_schedule(sch, remove_postproc=False)
    return sch


record_latency_us = latency_us
"""Mean measured latency of a tuning record in us; ``None`` for a failed candidate (the package's
one latency rule, :func:`tvm_llm_sched.measure.latency_us`)."""


def measure_in_process(
    candidates: Sequence[Any],
    target: Any,
    *,
    fail: Collection[int] = (),
    number: int = 3,
    seed: int = 0,
) -> list[Any]:
    """Compile and time candidates in this process: one real ``RunnerResult`` per candidate.

    Parameters
    ----------
    candidates : Sequence[MeasureCandidate]
        What a strategy asked to measure.
    target : tvm.target.Target
        The tuning target (must be the host CPU).
    fail : Collection[int]
        Indices reported as failed (``run_secs=None`` and an ``error_msg``) instead of measured.
    number : int
        Runs averaged per timing.
    seed : int
        Seed of the random inputs.

    Returns
    -------
    list[RunnerResult]
        A candidate that does not compile or run gets a failed result with the error, as
        MetaSchedule's runner reports it.
    """
    import numpy as np
    import tvm
    from tvm.s_tir.meta_schedule.runner import RunnerResult

    device = tvm.cpu()
    rng = np.random.default_rng(seed)
    results = []
    for index, candidate in enumerate(candidates):
        if index in fail:
            results.append(RunnerResult(run_secs=None, error_msg=INJECTED_FAILURE))
            continue
        try:
            executable = tvm.compile(candidate.sch.mod, target=target)
            args = [
                tvm.runtime.tensor(
                    rng.uniform(-1, 1, [int(d) for d in info.shape]).astype(str(info.dtype)),
                    device,
                )
                for info in candidate.args_info
            ]
            timer = executable.mod.time_evaluator("main", device, number=number, repeat=1)
            secs = [float(s) for s in timer(*args).results]
        except Exception as exc:  # a candidate that fails is a result, as MetaSchedule records it
            results.append(RunnerResult(run_secs=None, error_msg=f"{type(exc).__name__}: {exc}"))
        else:
            results.append(RunnerResult(run_secs=secs, error_msg=None))
    return results


@functools.cache
def shared_runner() -> Any:
    """One ``ms.runner.LocalRunner`` per process: its popen worker survives between tuning runs."""
    from tvm.s_tir import meta_schedule as ms

    return ms.runner.LocalRunner()


def measure_backends() -> dict[str, Any]:
    """``builder=`` and ``runner=`` for ``ms.tune_tir`` / ``tune_relax`` in tests.

    The builder is :func:`~tvm_llm_sched.tvm_compat.local_builder` with one worker (each batch
    starts fresh workers; on 2 busy cores one starts faster than two) and a generous timeout, so
    a loaded machine does not turn slow builds into failed candidates. The runner is
    :func:`shared_runner`.
    """
    from ..tvm_compat import local_builder

    return {"builder": local_builder(max_workers=1, timeout_sec=120.0), "runner": shared_runner()}


def tune(
    mod: Any,
    work_dir: str | os.PathLike[str],
    strategy: Any,
    *,
    max_trials: int,
    num_trials_per_iter: int,
    target: Any = None,
    seed: int = 0,
    cost_model: str = "xgb",
    space: Any = "post-order-apply",
) -> Any:
    """``ms.tune_tir`` into a JSON database in ``work_dir`` with :func:`measure_backends` (and
    ``space`` as the space generator).

    Returns the database ``ms.tune_tir`` returns.
    """
    from tvm.s_tir import meta_schedule as ms

    from ..hardware import host_target

    return ms.tune_tir(
        mod,
        target if target is not None else host_target(),
        os.fspath(work_dir),
        max_trials_global=max_trials,
        num_trials_per_iter=num_trials_per_iter,
        strategy=strategy,
        cost_model=cost_model,
        seed=seed,
        space=space,
        **measure_backends(),
    )


def check_work_dir(
    work_dir: str | os.PathLike[str], mod: Any, *, expected: int, target: Any = None
) -> list[Any]:
    """Check a tuning work dir reopened from disk; return its records.

    Asserts that it holds ``expected`` records, every trace replays on ``mod``, no schedule was
    measured twice, at least one candidate ran, and ``compile_tir`` gives a schedule that
    verifies numerically against ``mod``.
    """
    from tvm.s_tir import meta_schedule as ms

    from ..hardware import host_target
    from ..verify import verify

    target = target if target is not None else host_target()
    database = ms.database.JSONDatabase(work_dir=os.fspath(work_dir))
    records = list(database.get_all_tuning_records())
    assert len(records) == expected, f"{len(records)} records in {work_dir}, expected {expected}"
    keys = [schedule_key(replay_record(record, mod)) for record in records]
    assert len(set(keys)) == len(keys), "a schedule was measured more than once"
    assert any(record_latency_us(r) is not None for r in records), "no candidate ran"
    best = ms.tir_integration.compile_tir(database, mod, target)
    assert best is not None, "compile_tir found no usable record"
    report = verify(mod, best, target)
    assert report.ok, report.message
    return records


class HandTuner:
    """Drive a strategy through one task's lifecycle by hand, in the task scheduler's order.

    Parameters
    ----------
    strategy : SearchStrategy
        Initialized here, through the ``ms.TuneContext`` it is put into.
    mod : tvm.IRModule
        The task.
    target : tvm.target.Target | None
        The host target by default.
    database : Database | None
        Where records are committed (a fresh ``MemoryDatabase`` by default; pass another run's
        database to resume from it).
    cost_model : str | None
        ``"xgb"`` (one tuning core) or ``"random"``; ``None`` for no cost model.
    space : SpaceGenerator | str
        The context's space generator (MetaSchedule's post-order-apply by default).
    with_target : bool
        Give the context the target; ``False`` builds it without one, as TVM's own strategy tests
        do (candidates are still measured for ``target``).
    with_database : bool
        Give the strategy the database; ``False`` gives it none (records are still kept in
        :attr:`database` for the checks).
    failures : Collection[tuple[int, int]] | Callable[[int, int, MeasureCandidate], bool]
        Candidates reported as failed instead of measured: ``(iteration, index)`` pairs, or a
        predicate ``fail(iteration, index, candidate)``.
    seed : int
        The context's ``rand_state``.

    Attributes
    ----------
    batches : list[list[MeasureCandidate]]
        What each iteration asked to measure.
    results : list[list[RunnerResult]]
        What it was told.

    Examples
    --------
    >>> tuner = HandTuner(LLMGuidedSearch(), load_workload("GMM:0").mod)  # doctest: +SKIP
    >>> tuner.pre_tuning(8, 4); tuner.run(); tuner.post_tuning()          # doctest: +SKIP
    >>> sum(len(b) for b in tuner.batches)                                # doctest: +SKIP
    8
    """

    def __init__(
        self,
        strategy: Any,
        mod: Any,
        *,
        target: Any = None,
        database: Any = None,
        cost_model: str | None = "xgb",
        failures: Collection[tuple[int, int]] | Callable[[int, int, Any], bool] = (),
        seed: int = 0,
        space: Any = "post-order-apply",
        with_target: bool = True,
        with_database: bool = True,
    ):
        from tvm.s_tir import meta_schedule as ms

        from ..hardware import host_target
        from ..tvm_compat import preload_tensor_intrin

        preload_tensor_intrin()
        self.target = target if target is not None else host_target()
        self.with_database = with_database
        self.context = ms.TuneContext(
            mod=mod,
            target=self.target if with_target else None,
            space_generator=space,
            search_strategy=strategy,
            num_threads=1,
            rand_state=seed,
        )
        self.strategy = self.context.search_strategy
        self.database = database if database is not None else ms.database.MemoryDatabase()
        self.cost_model = (
            ms.CostModel.create(cost_model, num_tuning_cores=1) if cost_model is not None else None
        )
        if callable(failures):
            self._fails = failures
        else:
            positions = set(failures)
            self._fails = lambda iteration, index, candidate: (iteration, index) in positions
        self.batches: list[list[Any]] = []
        self.results: list[list[Any]] = []

    @property
    def candidates(self) -> list[Any]:
        """Every candidate so far, in order."""
        return [c for batch in self.batches for c in batch]

    def pre_tuning(self, max_trials: int, num_trials_per_iter: int) -> None:
        """Generate the design spaces and call ``pre_tuning`` with the database and cost model."""
        spaces = self.context.generate_design_space()
        database = self.database if self.with_database else None
        self.strategy.pre_tuning(max_trials, num_trials_per_iter, spaces, database, self.cost_model)

    def step(self) -> list[Any] | None:
        """One iteration; returns its candidates, or ``None`` when the strategy is done."""
        from tvm.s_tir import meta_schedule as ms

        candidates = self.strategy.generate_measure_candidates()
        if candidates is None:
            return None
        candidates = list(candidates)
        iteration = len(self.batches)
        fail = {i for i, c in enumerate(candidates) if self._fails(iteration, i, c)}
        results = measure_in_process(candidates, self.target, fail=fail, seed=iteration)
        self.strategy.notify_runner_results(candidates, results)
        # Then the measure callbacks, as MetaSchedule's AddToDatabase and UpdateCostModel do it.
        workload = self.database.commit_workload(self.context.mod)
        for candidate, result in zip(candidates, results, strict=True):
            secs = list(result.run_secs) if result.run_secs is not None else [FAILED_RUN_SECS]
            self.database.commit_tuning_record(
                ms.database.TuningRecord(
                    candidate.sch.trace, workload, secs, self.target, candidate.args_info
                )
            )
        ran = [i for i, r in enumerate(results) if r.error_msg is None]
        if ran and self.cost_model is not None:
            self.cost_model.update(
                self.context, [candidates[i] for i in ran], [results[i] for i in ran]
            )
        self.batches.append(candidates)
        self.results.append(results)
        return candidates

    def run(self, max_iterations: int = 64) -> None:
        """:meth:`step` until the strategy returns ``None`` (and again ``None`` when asked once
        more); fails after ``max_iterations``."""
        for _ in range(max_iterations):
            if self.step() is None:
                again = self.strategy.generate_measure_candidates()
                assert again is None, "the strategy generated again after returning None"
                return
        raise AssertionError(f"the strategy was still generating after {max_iterations} iterations")

    def post_tuning(self) -> None:
        """Call ``post_tuning``."""
        self.strategy.post_tuning()


def check_hand_run(
    tuner: HandTuner, mod: Any, *, max_trials: int, num_trials_per_iter: int
) -> None:
    """Assert a finished :class:`HandTuner` run is complete and sound.

    Every batch is non-empty and at most ``num_trials_per_iter`` long; the batches add up to
    ``max_trials``; no schedule repeats (structural hash); each candidate's ``args_info`` matches
    ``mod``'s parameters and its schedule verifies numerically.
    """
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo

    from ..verify import verify

    assert tuner.batches, "the strategy generated nothing"
    for batch in tuner.batches:
        assert 1 <= len(batch) <= num_trials_per_iter, f"a batch of {len(batch)} candidates"
    total = len(tuner.candidates)
    assert total == max_trials, f"{total} candidates generated, max_trials={max_trials}"
    keys = [schedule_key(c.sch) for c in tuner.candidates]
    assert len(set(keys)) == len(keys), "a schedule was generated twice"
    signature = [a.as_json() for a in ArgInfo.from_prim_func(mod["main"])]
    for candidate in tuner.candidates:
        info = [a.as_json() for a in candidate.args_info]
        assert info == signature, f"args_info {info} does not match {signature}"
        report = verify(mod, candidate.sch, tuner.target)
        assert report.ok, report.message


# -- the suite -------------------------------------------------------------------------------------
class StrategyConformance:
    """Tests every search strategy must pass; join by subclassing and providing
    ``strategy_factory`` (see the module docstring)."""

    conformance = ConformanceConfig()

    def _mod(self) -> Any:
        return conformance_workload(self.conformance.workload).mod

    def _tuner(self, strategy: Any, **kwargs: Any) -> HandTuner:
        cfg = self.conformance
        tuner = HandTuner(strategy, self._mod(), cost_model=cfg.cost_model, seed=cfg.seed, **kwargs)
        tuner.pre_tuning(cfg.max_trials, cfg.num_trials_per_iter)
        return tuner

    def _check(self, tuner: HandTuner) -> None:
        cfg = self.conformance
        check_hand_run(
            tuner,
            self._mod(),
            max_trials=cfg.max_trials,
            num_trials_per_iter=cfg.num_trials_per_iter,
        )

    def test_lifecycle_by_hand(self, strategy_factory: StrategyFactory) -> None:
        """pre_tuning -> (generate -> notify)* -> None -> post_tuning, with one failed run."""
        tuner = self._tuner(strategy_factory(), failures={(1, 0)})
        tuner.run()
        tuner.post_tuning()
        self._check(tuner)
        assert len(tuner.database.get_all_tuning_records()) == self.conformance.max_trials
        if len(tuner.results) > 1:
            assert tuner.results[1][0].error_msg == INJECTED_FAILURE

    def test_survives_a_batch_of_failures(self, strategy_factory: StrategyFactory) -> None:
        """Every run of the first iteration fails (as with a broken builder); tuning goes on."""
        cfg = self.conformance
        tuner = self._tuner(
            strategy_factory(), failures={(0, i) for i in range(cfg.num_trials_per_iter)}
        )
        tuner.run()
        tuner.post_tuning()
        self._check(tuner)
        assert all(r.error_msg == INJECTED_FAILURE for r in tuner.results[0])

    def test_clone_is_independent(self, strategy_factory: StrategyFactory) -> None:
        """A clone taken mid-run tunes on its own; the original then finishes its own budget."""
        original = self._tuner(strategy_factory())
        assert original.step() is not None
        twin = self._tuner(original.strategy.clone())
        assert not twin.strategy.same_as(original.strategy), "clone() returned the same object"
        twin.run()
        twin.post_tuning()
        self._check(twin)
        original.run()
        original.post_tuning()
        self._check(original)

    def test_tune_tir_then_compile(self, strategy_factory: StrategyFactory, tmp_path: Any) -> None:
        """ms.tune_tir gives the full number of records; compile_tir from disk verifies."""
        cfg = self.conformance
        tune(
            self._mod(),
            tmp_path,
            strategy_factory(),
            max_trials=cfg.tune_trials,
            num_trials_per_iter=cfg.tune_trials_per_iter,
            seed=cfg.seed,
            cost_model=cfg.cost_model,
        )
        check_work_dir(tmp_path, self._mod(), expected=cfg.tune_trials)


# -- situations beyond the default space ----------------------------------------------------------
def sampled_matmul_space(sch: Any) -> None:
    """A hand-written design space for a batch matmul (GMM): every loop of its one block split by
    a sampled perfect tile (``ScheduleFn``'s ``sch_fn``), as TVM's strategy tests write one."""
    block = sch.get_sblock("Z")
    for loop in sch.get_loops(block):
        factors = sch.sample_perfect_tile(loop, n=2, max_innermost_factor=16)
        sch.split(loop, factors)


def single_program_space(sch: Any) -> None:
    """A design space that holds exactly one program: a fixed split, nothing sampled."""
    block = sch.get_sblock("Z")
    sch.split(sch.get_loops(block)[-1], [None, 4])


def _dummy_mutator() -> Any:
    from tvm.ir.utils import derived_object
    from tvm.s_tir.meta_schedule.mutator import PyMutator

    @derived_object
    class DummyMutator(PyMutator):
        """Returns the trace with its decisions dropped (as in TVM's strategy tests)."""

        def _initialize_with_tune_context(self, context: Any) -> None:
            pass

        def apply(self, trace: Any, _: int) -> Any:
            import tvm

            return tvm.s_tir.Trace(trace.insts, {})

        def clone(self) -> Any:
            return DummyMutator()

    return DummyMutator()


def _rejecting_postproc() -> Any:
    from tvm.ir.utils import derived_object
    from tvm.s_tir.meta_schedule.postproc import PyPostproc

    @derived_object
    class RejectEverything(PyPostproc):
        """A postprocessor that refuses every schedule."""

        def _initialize_with_tune_context(self, context: Any) -> None:
            pass

        def apply(self, sch: Any) -> bool:
            return False

        def clone(self) -> Any:
            return RejectEverything()

    return RejectEverything()


def schedule_fn_space(sch_fn: Callable[[Any], None], **kwargs: Any) -> Any:
    """``ms.space_generator.ScheduleFn(sch_fn, sch_rules=[], postprocs=[], **kwargs)``."""
    from tvm.s_tir import meta_schedule as ms

    kwargs.setdefault("sch_rules", [])
    kwargs.setdefault("postprocs", [])
    return ms.space_generator.ScheduleFn(sch_fn, **kwargs)


class StrategySituations:
    """The MetaSchedule settings a drop-in strategy must handle beyond the default space; join
    like :class:`StrategyConformance` (a ``strategy_factory`` fixture). Workload: GMM:0.

    By hand (:class:`HandTuner`): a ``ScheduleFn`` space without mutator probabilities, one with
    none (``{}``) and one with a dummy mutator; a context with no database, no cost model and no
    target; a space whose postprocessor refuses everything (no candidate, ``None`` at once); a
    database holding a record that no longer replays; a space with a single program (measured
    once). Through ``ms.tune_tir``: the ``ScheduleFn`` space without mutators and the
    single-program space. Every run honours ``max_trials`` and ``num_trials_per_iter`` exactly.
    """

    max_trials = 8
    per_iter = 4
    #: Situations that do not apply to the strategy (a control that behaves otherwise by design),
    #: by name; those tests are skipped with the reason given.
    not_applicable: dict[str, str] = {}

    def _mod(self) -> Any:
        return conformance_workload("GMM:0").mod

    def _applies(self, situation: str) -> None:
        reason = self.not_applicable.get(situation)
        if reason is not None:
            import pytest

            pytest.skip(reason)

    def _run(self, strategy: Any, max_trials: int | None = None, **kwargs: Any) -> HandTuner:
        kwargs.setdefault("cost_model", "random")
        tuner = HandTuner(strategy, self._mod(), **kwargs)
        tuner.pre_tuning(max_trials or self.max_trials, self.per_iter)
        tuner.run()
        tuner.post_tuning()
        return tuner

    def _check(self, tuner: HandTuner, max_trials: int | None = None) -> None:
        check_hand_run(
            tuner,
            self._mod(),
            max_trials=max_trials or self.max_trials,
            num_trials_per_iter=self.per_iter,
        )

    def test_space_without_mutator_probs(self, strategy_factory: StrategyFactory) -> None:
        """``ScheduleFn`` without ``mutator_probs`` in a context without a target (None)."""
        tuner = self._run(
            strategy_factory(), space=schedule_fn_space(sampled_matmul_space), with_target=False
        )
        self._check(tuner)

    def test_space_with_no_mutators(self, strategy_factory: StrategyFactory) -> None:
        space = schedule_fn_space(sampled_matmul_space, mutator_probs={})
        self._check(self._run(strategy_factory(), space=space))

    def test_space_with_a_dummy_mutator(self, strategy_factory: StrategyFactory) -> None:
        """TVM's replay test context: ``ScheduleFn`` with a dummy mutator, ``RandomModel``,
        ``MemoryDatabase``, no target."""
        space = schedule_fn_space(sampled_matmul_space, mutator_probs={_dummy_mutator(): 1.0})
        self._check(self._run(strategy_factory(), space=space, with_target=False))

    def test_no_database_no_cost_model_no_target(self, strategy_factory: StrategyFactory) -> None:
        """As TVM's own strategy tests build a context: a ``ScheduleFn`` space (post-order-apply
        needs a target for its rules), no target, no database, no cost model."""
        space = schedule_fn_space(sampled_matmul_space)
        tuner = self._run(
            strategy_factory(), space=space, with_target=False, with_database=False, cost_model=None
        )
        self._check(tuner)

    def test_a_postprocessor_that_refuses_everything(self, strategy_factory: StrategyFactory):
        """Nothing can be measured: ``None`` at once, as EvolutionarySearch does."""
        from tvm.s_tir import meta_schedule as ms

        self._applies("refusing postprocessor")
        space = ms.space_generator.PostOrderApply(postprocs=[_rejecting_postproc()])
        tuner = self._run(strategy_factory(), space=space)
        assert tuner.batches == []

    def test_a_record_that_no_longer_replays(self, strategy_factory: StrategyFactory) -> None:
        """A record of this workload whose trace does not apply (another program's) is skipped;
        the run measures its full budget."""
        from tvm.s_tir import meta_schedule as ms

        from ..hardware import host_target

        other = conformance_workload("C1D:0").mod
        stale = ms.TuneContext(
            mod=other, target=host_target(), space_generator="post-order-apply"
        ).generate_design_space()[0]
        database = ms.database.MemoryDatabase()
        workload = database.commit_workload(self._mod())
        database.commit_tuning_record(
            ms.database.TuningRecord(stale.trace, workload, [1e-3], host_target(), None)
        )
        tuner = self._run(strategy_factory(), database=database)
        self._check(tuner)

    def test_a_single_program_space(self, strategy_factory: StrategyFactory) -> None:
        """One program: measured once, then ``None`` (never a repeat, never an empty batch)."""
        self._applies("single program")
        tuner = self._run(strategy_factory(), space=schedule_fn_space(single_program_space))
        assert [len(batch) for batch in tuner.batches] == [1]

    def test_tune_tir_with_a_space_without_mutators(
        self, strategy_factory: StrategyFactory, tmp_path: Any
    ) -> None:
        self._applies("small space")
        space = schedule_fn_space(sampled_matmul_space, mutator_probs={})
        self._tune_tir(strategy_factory(), space, tmp_path, expected=8)

    def test_tune_tir_with_a_single_program_space(
        self, strategy_factory: StrategyFactory, tmp_path: Any
    ) -> None:
        self._applies("single program")
        space = schedule_fn_space(single_program_space)
        self._tune_tir(strategy_factory(), space, tmp_path, expected=1)

    def _tune_tir(self, strategy: Any, space: Any, work_dir: Any, *, expected: int) -> None:
        """``ms.tune_tir`` with ``space`` for ``max_trials``; the work dir holds ``expected``."""
        tune(
            self._mod(),
            work_dir,
            strategy,
            max_trials=self.max_trials,
            num_trials_per_iter=self.per_iter,
            seed=0,
            cost_model="random",
            space=space,
        )
        check_work_dir(work_dir, self._mod(), expected=expected)


__all__ = [
    "FAILED_RUN_SECS",
    "INJECTED_FAILURE",
    "ConformanceConfig",
    "HandTuner",
    "StrategyConformance",
    "StrategySituations",
    "StrategyFactory",
    "check_hand_run",
    "check_work_dir",
    "conformance_workload",
    "measure_backends",
    "measure_in_process",
    "record_latency_us",
    "replay_record",
    "sampled_matmul_space",
    "schedule_fn_space",
    "schedule_key",
    "shared_runner",
    "single_program_space",
    "tune",
]
