"""The ``decisions`` section: each sampling instruction of a trace, where it acts, its value.

One line per decision, in trace order (``d0, d1, ...`` as in
:class:`~tvm_llm_sched.ir.naming.NameTable`)::

    d0 tile(l0,l3,l7,l11)=[1,1,1,1]                     SamplePerfectTile -> the loops of its split
    d4 categorical(unroll_explicit)=16 of[0,16,64,512]  SampleCategorical -> the annotation it feeds
    d5 compute_location(PadInput)=inline                SampleComputeLocation (inline/root/loop)

A loop that no longer exists (fused or split again later) is written ``?``. A tile whose innermost
factor limit is not MetaSchedule's default 64 says so: ``max_innermost(16)``.
"""

from __future__ import annotations

from typing import Any

from .expr import format_float
from .naming import NameTable, decided_block_name
from .syntax import annotation_token

DEFAULT_MAX_INNERMOST = 64
"""MetaSchedule's default limit on the innermost tile factor; only other limits are written."""


def _loop_name(sch: Any, names: NameTable, rv: Any) -> str:
    from tvm.s_tir.schedule import _ffi_api

    try:
        # The raw FFI call: Schedule.get's runtime type checker costs ~10x the lookup itself.
        return names.loop_name(_ffi_api.ScheduleGet(sch, rv))
    except Exception:  # the RV expired (its loop was fused/split away) or is a root/inline marker
        return "?"


class _TraceIndex:
    """Who produces and who consumes each random variable of a trace (one pass)."""

    def __init__(self, insts: list[Any]):
        self.producer: dict[Any, Any] = {}
        self.consumers: dict[Any, list[Any]] = {}
        for inst in insts:
            for arg in inst.inputs:
                if hasattr(arg, "same_as"):  # RVs and exprs; attrs such as strings are skipped
                    self.consumers.setdefault(arg, []).append(inst)
            for out in inst.outputs:
                self.producer[out] = inst

    def consumer(self, rv: Any, kind: str) -> Any | None:
        """The first instruction of ``kind`` that takes ``rv``."""
        return next((i for i in self.consumers.get(rv, ()) if i.kind.name == kind), None)


def _plain(value: Any) -> Any:
    """An FFI integer/float/container as a Python value."""
    import tvm

    if isinstance(value, tvm.tirx.IntImm):
        return int(value.value)
    if isinstance(value, tvm.tirx.FloatImm):
        return format_float(value.value, str(value.ty))
    if isinstance(value, (list, tuple)) or type(value).__name__ in ("Array", "List"):
        return [_plain(v) for v in value]
    return value


def _list_text(values: Any) -> str:
    return "[" + ",".join(str(v) for v in _plain(values)) + "]"


def decision_lines(sch: Any, names: NameTable) -> list[str]:
    """Lines of the ``decisions`` section for ``sch`` (whose name table is ``names``)."""
    trace = sch.trace
    index_of = _TraceIndex(list(trace.insts))
    lines = []
    for index, inst in enumerate(names.decisions):
        value = _plain(trace.get_decision(inst))
        kind = inst.kind.name
        if kind == "SamplePerfectTile":
            split = index_of.consumer(inst.outputs[0], "Split")
            loops = ",".join(_loop_name(sch, names, rv) for rv in split.outputs) if split else "?"
            max_innermost = _plain(inst.attrs[1])
            limit = (
                "" if max_innermost == DEFAULT_MAX_INNERMOST else f" max_innermost({max_innermost})"
            )
            lines.append(f"d{index} tile({loops})={_list_text(value)}{limit}")
        elif kind == "SampleCategorical":
            candidates = _plain(inst.attrs[0])
            annotate = index_of.consumer(inst.outputs[0], "Annotate")
            target = annotation_token(str(annotate.attrs[0])) if annotate else "?"
            lines.append(
                f"d{index} categorical({target})={candidates[value]} of{_list_text(candidates)}"
            )
        else:  # SampleComputeLocation
            getter = index_of.producer.get(inst.inputs[0])
            block = decided_block_name(sch, getter, inst.inputs[0]) or "?"
            where = {-2: "inline", -1: "root"}.get(value) or _loop_name(sch, names, inst.outputs[0])
            lines.append(f"d{index} compute_location({block})={where}")
    return lines
