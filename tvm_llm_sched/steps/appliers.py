"""One applier per step kind, and the translation of TVM's refusals into :class:`IllegalStepError`.

Schedule-primitive appliers take ``(sch, names, step)``: they resolve the step's sites through the
state's :class:`~tvm_llm_sched.ir.naming.NameTable`, check what TVM would check less readably, and
call the primitive on ``sch`` (a copy the caller may throw away). Decision-edit appliers take the
same arguments but only check the new decision and return it; the state replays the base trace
with it (see :mod:`tvm_llm_sched.steps.state`).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import IllegalStepError, UnknownSiteError
from ..ir.naming import iter_stmts

if TYPE_CHECKING:
    from ..ir.naming import NameTable
    from .step import Step

# What TVM raises when it refuses: ScheduleError (a RuntimeError) and FFI argument errors.
TVM_ERRORS = (RuntimeError, ValueError, TypeError, IndexError)
_MAX_MESSAGE = 400  # enough for TVM's reason, short enough for a prompt
_DIAG_MARK = re.compile(r"#\s*(s_tir\.SBlock#\d+|tirx\.For#\d+)\s*\n\s*(.*)")


# -- translating TVM errors ------------------------------------------------------------------------
def _site_of_diagnostic_line(line: str, names: NameTable) -> str | None:
    """Our name for the statement on a line of TVM's diagnostic IR (``with T.sblock("Z"):``)."""
    block = re.search(r'T\.sblock\("([^"]+)"\)', line)
    if block:
        return block.group(1)
    loop = re.match(r"for (\w+) in", line)
    if loop:
        hits = [n for n, s in names.loops.items() if s.node.loop_var.name == loop.group(1)]
        return f"{hits[0]} (for {loop.group(1)})" if len(hits) == 1 else f"loop {loop.group(1)}"
    return None


def tvm_reason(exc: BaseException, names: NameTable) -> str:
    """TVM's own reason for a refusal, trimmed, with its ``SBlock#0``/``For#0`` markers renamed."""
    text = str(exc)
    mapping = {}
    for mark, line in _DIAG_MARK.findall(text):
        site = _site_of_diagnostic_line(line.strip(), names)
        if site is not None:
            mapping[mark] = site
    reason = text.rsplit("Error message:", 1)[-1].strip()
    if reason == text.strip():  # no diagnostic block: keep the last meaningful line
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        reason = lines[-1] if lines else type(exc).__name__
    for mark, site in mapping.items():
        reason = reason.replace(mark, site)
    reason = re.sub(r"^(ScheduleError|RuntimeError|ValueError|TypeError):\s*", "", reason)
    return reason if len(reason) <= _MAX_MESSAGE else reason[: _MAX_MESSAGE - 3] + "..."


@contextlib.contextmanager
def refused_as_illegal(step: Step, names: NameTable) -> Iterator[None]:
    """Turn any error TVM raises inside the block into an :class:`IllegalStepError`."""
    try:
        yield
    except TVM_ERRORS as exc:
        reason = tvm_reason(exc, names)
        raise IllegalStepError(f"{step.to_text()} refused by TVM: {reason}") from exc


# -- site lookups and checks -----------------------------------------------------------------------
def loop_extent(names: NameTable, loop: str) -> int:
    """The constant extent of a named loop (after checking the loop exists)."""
    site = names.loops.get(loop)
    if site is None:
        names.loop_rv(None, loop)  # raises UnknownSiteError with the list of loops
    extent = site.node.extent
    if not hasattr(extent, "value"):
        raise IllegalStepError(f"loop {loop} has a non-constant extent {extent}")
    return int(extent.value)


def resolve_factors(
    factors: tuple[int | None, ...],
    extent: int,
    what: str,
    *,
    count: int | None = None,
    guarded_tail: bool = False,
) -> list[int]:
    """Check tiling factors against an extent and infer the one ``None`` factor.

    With ``guarded_tail``, a ``None`` factor is rounded up when the others do not divide the
    extent (TVM's ``split`` then guards the last, partial iteration with a predicate); without
    it, as for a sampled perfect tile, the factors must tile the extent exactly.

    Raises
    ------
    IllegalStepError
        Wrong count, non-positive factors, more than one ``None``, or a product that does not
        match (or, with ``None`` and no ``guarded_tail``, does not divide) the extent.
    """
    shown = "[" + ", ".join("None" if f is None else str(f) for f in factors) + "]"
    if count is not None and len(factors) != count:
        raise IllegalStepError(f"{what}: it needs exactly {count} factors, got {len(factors)}")
    if count is None and len(factors) < 2:
        raise IllegalStepError(f"split needs at least 2 factors, got {shown}")
    if any(f is not None and f <= 0 for f in factors):
        raise IllegalStepError(f"factors must be positive (or None to infer one), got {shown}")
    if sum(f is None for f in factors) > 1:
        raise IllegalStepError(f"at most one factor may be None (inferred), got {shown}")
    known = math.prod(f for f in factors if f is not None)
    if None in factors:
        if extent % known and not guarded_tail:
            raise IllegalStepError(
                f"{what}: the known factors of {shown} multiply to {known}, which does not divide"
                f" {extent}"
            )
        if known > extent:
            raise IllegalStepError(
                f"{what}: the known factors of {shown} multiply to {known}, more than the extent"
            )
        return [-(-extent // known) if f is None else f for f in factors]
    if known != extent:
        raise IllegalStepError(f"{what}: factors {shown} multiply to {known}, not {extent}")
    return list(factors)


def _loop_or_block(sch: Any, names: NameTable, site: str) -> Any:
    if site in names.loops:
        return names.loop_rv(sch, site)
    if site in names.blocks:
        return names.block_rv(sch, site)
    raise UnknownSiteError(
        f"unknown loop or block {site!r}; loops are {', '.join(names.loop_order) or '(none)'};"
        f" blocks are {', '.join(names.blocks) or '(none)'}"
    )


# -- schedule primitives ---------------------------------------------------------------------------
def split(sch: Any, names: NameTable, step: Step) -> None:
    """``split(loop, factors)``: factors tile the loop's extent exactly, or one ``None`` factor is
    rounded up and the loop's last, partial iteration is guarded (a prime extent can still get a
    SIMD-wide inner loop)."""
    rv = names.loop_rv(sch, step["loop"])
    extent = loop_extent(names, step["loop"])
    factors = resolve_factors(
        step["factors"], extent, f"loop {step['loop']} has extent {extent}", guarded_tail=True
    )
    with refused_as_illegal(step, names):
        sch.split(rv, factors, preserve_unit_iters=True)


def _resolve(sch: Any, names: NameTable, param: str, value: Any) -> list[Any]:
    """The primitive's positional arguments for one step argument: sites become RVs."""
    if param == "loops":
        return [names.loop_rv(sch, n) for n in value]
    if param == "loop":
        return [names.loop_rv(sch, value)]
    if param == "block":
        return [names.block_rv(sch, value)]
    if param == "site":
        return [_loop_or_block(sch, names, value)]
    return [value]


def _primitive(method: str, *params: str, **kwargs: Any) -> Callable[..., None]:
    """An applier calling ``sch.<method>`` with the step's arguments ``params`` in that order
    (sites resolved to random variables) and fixed keyword arguments; TVM checks legality."""

    def apply(sch: Any, names: NameTable, step: Step) -> None:
        args = [rv for p in params for rv in _resolve(sch, names, p, step[p])]
        with refused_as_illegal(step, names):
            getattr(sch, method)(*args, **kwargs)

    apply.__name__ = apply.__qualname__ = method
    apply.__doc__ = f"``{method}({', '.join(params)})`` through ``tvm.s_tir.Schedule.{method}``."
    return apply


reorder = _primitive("reorder", "loops")
fuse = _primitive("fuse", "loops", preserve_unit_iters=True)
parallel = _primitive("parallel", "loop")
vectorize = _primitive("vectorize", "loop")
unroll = _primitive("unroll", "loop")
annotate = _primitive("annotate", "site", "key", "value")
cache_read = _primitive("cache_read", "block", "buffer_index", "scope")
cache_write = _primitive("cache_write", "block", "buffer_index", "scope")
# Unit loops are kept, as MetaSchedule does, so loop names stay predictable.
compute_at = _primitive("compute_at", "block", "loop", preserve_unit_loops=True)
reverse_compute_at = _primitive("reverse_compute_at", "block", "loop", preserve_unit_loops=True)
compute_inline = _primitive("compute_inline", "block")
reverse_compute_inline = _primitive("reverse_compute_inline", "block")


rfactor = _primitive("rfactor", "loop", "factor_axis")


def refuse_repeated_block_names(sch: Any, step: Step) -> None:
    """Refuse a step after which two blocks share a name.

    TVM names new blocks after the old ones, and some sequences repeat a name: an rfactor where
    MetaSchedule's AddRFactor already made ``<block>_rf``, or a ``cache_read`` of a buffer whose
    ``cache_write`` block already holds the name the read would take. MetaSchedule's
    postprocessors and the step IR's names look blocks up by name, so such a program could never
    be measured (nor named).

    Raises
    ------
    IllegalStepError
        Two blocks of the scheduled function have the same name.
    """
    import tvm

    seen: set[str] = set()
    for node in iter_stmts(sch.mod["main"].body):
        if isinstance(node, tvm.s_tir.SBlock):
            if node.name_hint in seen:
                raise IllegalStepError(
                    f"{step.to_text()}: the new block would be a second {node.name_hint!r}, and "
                    "MetaSchedule's postprocessors cannot handle two blocks of one name"
                )
            seen.add(node.name_hint)


decompose_reduction = _primitive("decompose_reduction", "block", "loop")


# -- decision edits --------------------------------------------------------------------------------
def describe_decision(sch: Any, inst: Any) -> str:
    """A decision as the model should see it, e.g. ``SamplePerfectTile n=4 [1, 2, 4, 16]``."""
    decision = sch.trace.get_decision(inst)
    kind = inst.kind.name
    if kind == "SamplePerfectTile":
        n, max_inner = (int(a) for a in inst.attrs)
        return (
            f"SamplePerfectTile n={n} max_innermost_factor={max_inner} "
            f"current={[int(d) for d in decision]}"
        )
    if kind == "SampleCategorical":
        candidates = [int(c) for c in inst.attrs[0]]
        return f"SampleCategorical candidates={candidates} current index={int(decision)}"
    return f"{kind} current={int(decision)}"


def _decision(sch: Any, names: NameTable, step: Step, kind: str, use: str) -> Any:
    inst = names.decision(step["decision"])
    if inst.kind.name != kind:
        raise IllegalStepError(
            f"{step['decision']} is {describe_decision(sch, inst)}; {step.kind} edits "
            f"{kind} decisions (use {use})"
        )
    if sch.trace.get_decision(inst) is None:
        raise IllegalStepError(f"{step['decision']} has no sampled value to edit")
    return inst


def set_tile(sch: Any, names: NameTable, step: Step) -> list[int]:
    """``set_tile(decision, factors)``: a new perfect tiling of the same loop."""
    inst = _decision(sch, names, step, "SamplePerfectTile", "set_choice/set_compute_location")
    n, max_inner = (int(a) for a in inst.attrs)
    extent = math.prod(int(d) for d in sch.trace.get_decision(inst))
    what = f"{step['decision']} tiles a loop of extent {extent}"
    factors = resolve_factors(step["factors"], extent, what, count=n)
    if max_inner > 0 and factors[-1] > max_inner:
        raise IllegalStepError(
            f"{what}: innermost factor {factors[-1]} exceeds max_innermost_factor {max_inner}"
        )
    return factors


def set_choice(sch: Any, names: NameTable, step: Step) -> int:
    """``set_choice(decision, index)``: index into the categorical's candidates."""
    inst = _decision(sch, names, step, "SampleCategorical", "set_tile/set_compute_location")
    candidates = [int(c) for c in inst.attrs[0]]
    if not 0 <= step["index"] < len(candidates):
        raise IllegalStepError(
            f"{step['decision']} has candidates {candidates}; index must be in "
            f"0..{len(candidates) - 1}, got {step['index']}"
        )
    return step["index"]


COMPUTE_LOCATION_NAMES = {"root": -1, "inline": -2}


def set_compute_location(sch: Any, names: NameTable, step: Step) -> int:
    """``set_compute_location(decision, location)``: candidate index, ``root`` or ``inline``.

    Whether the index is one of the block's candidate locations is only known by replaying; the
    state checks that TVM kept the decision.
    """
    _decision(sch, names, step, "SampleComputeLocation", "set_tile/set_choice")
    location = step["location"]
    value = COMPUTE_LOCATION_NAMES.get(location, location)
    if value < -2:
        raise IllegalStepError(
            f"a compute location is -2 (inline), -1 (root) or a candidate index >= 0, not {value}"
        )
    return value
