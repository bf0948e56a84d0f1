"""The :class:`Sample`: a measured state, the atomic step(s) taken from it, and the state after.

A sample is self-contained except for its workload module (kept once per dataset in
``workloads.jsonl``): each end carries the base trace it materialises from (MetaSchedule's trace
without postprocessing, decisions included), its step IR and its measurement, so
:func:`replay_check` can rebuild the before state, apply the steps through the step language and
compare the result with the after end structurally.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from ..errors import StepError
from ..steps import parse_step


@dataclasses.dataclass(frozen=True, kw_only=True)
class End:
    """One end of a sample.

    Attributes
    ----------
    trace : Any
        The trace JSON the state materialises from (no postprocessing).
    ir : str
        The state in step-level IR.
    record : str | None
        The tuning record's key, when the end was measured.
    latency_us : float | None
        Measured latency; ``None`` if unmeasured or failed.
    error : str | None
        Why building or running it failed (negative evidence), if it did.
    """

    trace: Any
    ir: str
    record: str | None = None
    latency_us: float | None = None
    error: str | None = None

    @property
    def measured(self) -> bool:
        """Whether a tuning record backs this end (with a latency or a failure)."""
        return self.record is not None

    def to_json(self) -> dict[str, Any]:
        """JSON form (``measured`` included for readers)."""
        return {**dataclasses.asdict(self), "measured": self.measured}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> End:
        """Inverse of :meth:`to_json`."""
        return cls(
            trace=data["trace"],
            ir=data["ir"],
            record=data.get("record"),
            latency_us=data.get("latency_us"),
            error=data.get("error"),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sample:
    """A before state, the step(s) applied to it and the after state, with measurements.

    Attributes
    ----------
    workload_key : str
        The workload's structural hash (its line in ``workloads.jsonl``).
    workload : str
        The workload name the search showed its proposer (``main`` for ``ms.tune_tir``).
    hardware : str
        The hardware line of the record's target.
    work_dir : str
        Where the records came from.
    origin : str
        ``lineage`` (the search recorded the steps) or ``decisions`` (two records of one design
        space one or more decision edits apart).
    source : str
        What made the after end: ``proposer``, ``mutation``, ``sampling`` or ``unknown``.
    before, after : End
        The two ends.
    steps : tuple[str, ...]
        The atomic steps in text form; more than one makes a trajectory.
    intermediate : tuple[str, ...]
        Step IR of the unmeasured states between the steps of a trajectory.
    situation : dict | None
        The situation the search showed its proposer at the before state, when recorded.
    k : int | None
        The number of steps that call asked for.
    split : str
        ``train`` or ``validation`` (by workload), set by the builder.
    """

    workload_key: str
    workload: str
    hardware: str
    work_dir: str
    origin: str
    source: str
    before: End
    after: End
    steps: tuple[str, ...]
    intermediate: tuple[str, ...] = ()
    situation: dict[str, Any] | None = None
    k: int | None = None
    split: str = "train"

    @property
    def kind(self) -> str:
        """The step kind of a single-step sample, ``trajectory`` otherwise."""
        return parse_step(self.steps[0]).kind if len(self.steps) == 1 else "trajectory"

    @property
    def speedup(self) -> float | None:
        """Before latency over after latency, when both ends ran."""
        if self.before.latency_us is None or self.after.latency_us is None:
            return None
        return self.before.latency_us / self.after.latency_us

    @property
    def id(self) -> str:
        """A stable id: hash of the workload, both ends' IR and the steps."""
        text = json.dumps([self.workload_key, self.before.ir, self.steps, self.after.ir])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        """The ``samples.jsonl`` line."""
        out = {"id": self.id, "kind": self.kind, "speedup": self.speedup}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, End):
                value = value.to_json()
            elif isinstance(value, tuple):
                value = list(value)
            out[field.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sample:
        """Inverse of :meth:`to_json`; raises ValueError if ``data`` is not a sample."""
        steps = data.get("steps") if isinstance(data, dict) else None
        if not isinstance(steps, list) or not steps or not all(isinstance(t, str) for t in steps):
            raise ValueError("a sample's steps are a non-empty list of step texts")
        try:
            return cls(
                workload_key=data["workload_key"],
                workload=data["workload"],
                hardware=data["hardware"],
                work_dir=data["work_dir"],
                origin=data["origin"],
                source=data["source"],
                before=End.from_json(data["before"]),
                after=End.from_json(data["after"]),
                steps=tuple(data["steps"]),
                intermediate=tuple(data.get("intermediate", ())),
                situation=data.get("situation"),
                k=data.get("k"),
                split=data.get("split", "train"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a sample: {exc!r}") from None


def schedule_of(mod: Any, trace_json: Any) -> Any:
    """A ``tvm.s_tir.Schedule`` of ``mod`` with the trace JSON applied (decisions as stored)."""
    import tvm

    sch = tvm.s_tir.Schedule(mod, debug_mask=0)
    tvm.s_tir.Trace.apply_json_to_schedule(trace_json, sch)
    return sch


def state_of(mod: Any, trace_json: Any) -> Any:
    """The step-language :class:`~tvm_llm_sched.steps.State` of a trace JSON."""
    from ..steps import State

    return State.from_trace_json(mod, trace_json)


def replay_check(sample: Sample, mod: Any) -> str | None:
    """Apply the sample's steps to its before state; ``None`` if the result is structurally
    equal to the after end's program, else why not."""
    import tvm_ffi

    try:
        state = state_of(mod, sample.before.trace)
        for step in sample.steps:
            state = state.apply(step)
        after = schedule_of(mod, sample.after.trace)
    except (StepError, ValueError, RuntimeError, TypeError, IndexError) as exc:
        return f"does not replay: {exc}"
    if not tvm_ffi.structural_equal(state.scheduled_mod, after.mod):
        return "the steps do not reproduce the after state's program"
    return None
