"""Immutable schedule states: a workload, an optional sampled base trace, and the applied steps.

A :class:`State` materialises to a ``tvm.s_tir.Schedule`` by replaying the base trace (a
MetaSchedule design-space sample, decisions included) on the workload and then applying its
primitive steps in order. Decision edits (``set_tile``, ``set_choice``, ``set_compute_location``)
rewrite the base trace's decisions instead, after which the primitive steps are re-applied with
their sites resolved by name, exactly as they were first applied. Everything is deterministic:
the same workload, base trace and steps give structurally equal TIR, and :attr:`State.trace` is an
ordinary TVM trace that TVM alone replays to the same TIR.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import IllegalStepError, StepError
from ..ir.naming import NameTable, plain_decision, sampling_insts
from ..tvm_compat import root_annotations_last
from .appliers import (
    COMPUTE_LOCATION_NAMES,
    TVM_ERRORS,
    refuse_repeated_block_names,
    tvm_reason,
)
from .kinds import STEP_KINDS
from .parser import parse_step, parse_steps
from .step import Step


def _materialize(mod: Any, trace: Any | None, steps: Iterable[Step]) -> Any:
    """Replay ``trace`` on a fresh schedule of ``mod``, then apply the primitive ``steps``."""
    import tvm

    sch = tvm.s_tir.Schedule(mod)
    if trace is not None:
        try:
            trace.apply_to_schedule(sch, remove_postproc=False)
        except TVM_ERRORS as exc:
            raise IllegalStepError(
                f"the base trace no longer replays: {tvm_reason(exc, NameTable(sch))}"
            ) from exc
    for step in steps:
        STEP_KINDS[step.kind].applier(sch, NameTable(sch), step)
        refuse_repeated_block_names(sch, step)
    return sch


def design_space_context(mod: Any, target: Any = None, *, rand_state: int = -1) -> Any:
    """A MetaSchedule ``TuneContext`` with the post-order-apply space generator for ``mod``.

    Parameters
    ----------
    mod : tvm.IRModule
        The workload.
    target : tvm.target.Target | str | dict | None
        Chooses the schedule rules and postprocessors; None means the host llvm target.
    rand_state : int
        Seed of the sampled decisions (-1: random).
    """
    from tvm.s_tir import meta_schedule as ms

    from ..hardware import resolve_target
    from ..tvm_compat import preload_tensor_intrin

    preload_tensor_intrin()  # the TuneContext imports TVM's tensor intrinsics
    return ms.TuneContext(
        mod=mod,
        target=resolve_target(target),
        space_generator="post-order-apply",
        search_strategy="replay-trace",
        num_threads=1,
        rand_state=rand_state,
    )


def design_space_schedules(mod: Any, target: Any = None, *, rand_state: int = -1) -> list[Any]:
    """MetaSchedule's post-order-apply design spaces of ``mod``, with sampled decisions.

    Parameters are those of :func:`design_space_context`.
    """
    ctx = design_space_context(mod, target, rand_state=rand_state)
    return list(ctx.space_generator.generate_design_space(mod))


class State:
    """One schedule state of a workload; immutable, every step makes a new state.

    Build states with :meth:`initial`, :meth:`from_schedule` or :meth:`replay`, and move on with
    :meth:`apply`. A rejected step raises a :class:`~tvm_llm_sched.errors.StepError` and leaves
    the state untouched.

    Examples
    --------
    >>> from tvm_llm_sched.workloads import load_workload
    >>> state = State.initial(load_workload("GMM:0").mod)
    >>> state = state.apply("split(l1, [8, 16])").apply("parallel(l1)")
    >>> [s.to_text() for s in state.steps]
    ['split(l1, [8, 16])', 'parallel(l1)']
    """

    __slots__ = ("_mod", "_base", "_edited", "_steps", "_sch", "_names", "_ir")

    def __init__(
        self, mod: Any, base: Any | None, edited: Any | None, steps: tuple[Step, ...], sch: Any
    ):
        # Internal: use initial / from_schedule / replay / apply.
        self._mod, self._base, self._edited, self._steps, self._sch = mod, base, edited, steps, sch
        self._names: NameTable | None = None
        self._ir: str | None = None

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def initial(cls, mod: Any) -> State:
        """The unscheduled state of a workload (an IRModule with one PrimFunc ``main``)."""
        return cls(mod, None, None, (), _materialize(mod, None, ()))

    @classmethod
    def from_schedule(cls, sch: Any, mod: Any) -> State:
        """The state of a traced schedule of ``mod``, e.g. a MetaSchedule design-space sample.

        Parameters
        ----------
        sch : tvm.s_tir.Schedule
            A traced schedule whose trace (with its decisions) becomes the base trace.
        mod : tvm.IRModule
            The unscheduled workload the trace starts from (``TuneContext.mod``).

        Raises
        ------
        ValueError
            If ``sch`` has no trace, or its trace does not reproduce ``sch.mod`` from ``mod``.
        """
        import tvm_ffi

        if sch.trace is None:
            raise ValueError("from_schedule needs a traced schedule (tvm.s_tir.Schedule)")
        trace = sch.trace
        try:
            replayed = _materialize(mod, trace, ())
        except StepError as exc:
            raise ValueError(f"the schedule's trace does not replay on mod: {exc}") from exc
        if not tvm_ffi.structural_equal(replayed.mod, sch.mod):
            raise ValueError("the schedule's trace does not reproduce the schedule from mod")
        return cls(mod, trace, trace, (), replayed)

    @classmethod
    def from_trace_json(cls, mod: Any, trace_json: Any) -> State:
        """The state of a trace in JSON form (``Trace.as_json()``, e.g. a tuning record's trace
        with postprocessing cut off), replayed once on ``mod``; its trace becomes the base trace.

        Raises
        ------
        IllegalStepError
            The trace does not replay on ``mod``.
        """
        import tvm

        sch = tvm.s_tir.Schedule(mod)
        try:
            tvm.s_tir.Trace.apply_json_to_schedule(trace_json, sch)
        except TVM_ERRORS as exc:
            raise IllegalStepError(
                f"the trace does not replay: {tvm_reason(exc, NameTable(sch))}"
            ) from exc
        return cls(mod, sch.trace, sch.trace, (), sch)

    @classmethod
    def design_spaces(cls, mod: Any, target: Any = None, *, rand_state: int = -1) -> list[State]:
        """States of MetaSchedule's post-order-apply design spaces of ``mod`` (decisions sampled).

        See :func:`design_space_context` for the parameters.
        """
        return [
            cls.from_schedule(s, mod)
            for s in design_space_schedules(mod, target, rand_state=rand_state)
        ]

    @classmethod
    def replay(cls, mod: Any, base_trace: Any | None, steps: Iterable[Step | str | dict]) -> State:
        """Apply ``steps`` one by one to the state of ``mod`` (and ``base_trace``, if given).

        Deterministic: the same inputs give structurally equal TIR and an equal trace.

        Raises
        ------
        StepError
            The first step that does not parse or apply (the message names its position).
        """
        state = cls(mod, base_trace, base_trace, (), _materialize(mod, base_trace, ()))
        for number, step in enumerate(parse_steps(steps), 1):
            try:
                state = state.apply(step)
            except StepError as exc:
                raise type(exc)(f"step {number}: {exc}") from exc
        return state

    # -- views -----------------------------------------------------------------------------------
    @property
    def mod(self) -> Any:
        """The unscheduled workload."""
        return self._mod

    @property
    def base_trace(self) -> Any | None:
        """The base trace as given (decision edits are in :attr:`steps`, not here)."""
        return self._base

    @property
    def steps(self) -> tuple[Step, ...]:
        """Steps applied since the base, in order (decision edits included)."""
        return self._steps

    @property
    def schedule(self) -> Any:
        """A fresh copy of the materialised ``tvm.s_tir.Schedule`` (safe to modify)."""
        return self._sch.copy()

    @property
    def scheduled_mod(self) -> Any:
        """The scheduled IRModule."""
        return self._sch.mod

    @property
    def trace(self) -> Any:
        """The full TVM trace (edited base plus primitive steps); replayable by TVM alone.

        The base's root-block annotations come last, after the steps, as in MetaSchedule's own
        traces, so a tuning record of it loads back in TVM 0.27
        (:func:`~tvm_llm_sched.tvm_compat.root_annotations_last`).
        """
        import tvm

        trace = self._sch.trace
        return root_annotations_last(tvm.s_tir.Trace(trace.insts, trace.decisions))

    @property
    def ir(self) -> str:
        """This state in step-level IR (:func:`tvm_llm_sched.ir.render`); rendered once."""
        if self._ir is None:
            from ..ir import render

            self._ir = render(self.schedule)
        return self._ir

    @property
    def names(self) -> NameTable:
        """Canonical names of this state's blocks, loops and decisions."""
        if self._names is None:
            self._names = NameTable(self._sch)
        return self._names

    def __repr__(self) -> str:
        steps = "; ".join(s.to_text() for s in self._steps) or "no steps"
        base = "sampled base trace" if self._base is not None else "no base trace"
        return f"State({base}; {steps})"

    # -- transitions -----------------------------------------------------------------------------
    def apply(self, step: Step | str | dict) -> State:
        """The state after one more step.

        Parameters
        ----------
        step : Step | str | dict
            A step, or its text / JSON form.

        Raises
        ------
        StepSyntaxError, UnknownSiteError, IllegalStepError
            The step does not parse, names a missing site, or is illegal here.
        """
        step = parse_step(step)
        spec = STEP_KINDS[step.kind]
        if not spec.edits_decision:
            sch = self._sch.copy()  # the primitive mutates; our own schedule stays intact
            spec.applier(sch, self.names, step)
            refuse_repeated_block_names(sch, step)
            return State(self._mod, self._base, self._edited, self._steps + (step,), sch)
        decision = spec.applier(self._sch, self.names, step)
        index = int(step["decision"][1:])
        edited = self._edited.with_decision(
            sampling_insts(self._edited)[index], decision, remove_postproc=True
        )
        primitives = [s for s in self._steps if not s.is_decision_edit]
        try:
            sch = _materialize(self._mod, edited, primitives)
        except StepError as exc:
            raise IllegalStepError(f"{step.to_text()} breaks an earlier step: {exc}") from exc
        kept = plain_decision(sch.trace.get_decision(sampling_insts(sch.trace)[index]))
        if kept != decision:
            raise self._rejected_decision(step, decision, kept)
        return State(self._mod, self._base, edited, self._steps + (step,), sch)

    def _rejected_decision(self, step: Step, decision: Any, kept: Any) -> IllegalStepError:
        """Why TVM replaced a decision on replay, with the valid compute locations
        (``valid_values``) for a ``set_compute_location``."""
        message = f"{step.to_text()}: TVM does not accept {decision} here (it would use {kept})"
        if step.kind != "set_compute_location":
            return IllegalStepError(message)
        index = int(step["decision"][1:])
        inst = sampling_insts(self._edited)[index]

        def kept_for(candidate: int) -> int:
            trial = self._edited.with_decision(inst, candidate, remove_postproc=True)
            sch = _materialize(self._mod, trial, ())
            return plain_decision(sch.trace.get_decision(sampling_insts(sch.trace)[index]))

        # TVM snaps an invalid location to a valid one (a too large one to the last candidate),
        # so a value is valid iff replaying keeps it.
        last = kept_for(2**31)
        valid = [c for c in range(-2, last + 1) if kept_for(c) == c]
        labels = {v: k for k, v in COMPUTE_LOCATION_NAMES.items()}
        shown = ", ".join(f"{v} ({labels[v]})" if v in labels else str(v) for v in valid)
        return IllegalStepError(f"{message}; valid locations: {shown}", valid_values=tuple(valid))
