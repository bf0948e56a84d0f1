"""Typed facts about a state: the schema the search fills and every proposer reads.

The step IR is what a model reads; these facts are the same information in a form a program can
use without parsing text: every sampled decision with the block iterator it acts on (spatial or
reduction, extent, whether it indexes the innermost dimension of the block's output), every
categorical choice with its candidates, every compute-location decision, reductions that one core
runs alone, loop nests that read across the rows they write (transposes), and the CPU numbers.
The search builds them from TVM objects (:mod:`tvm_llm_sched.search.facts`); this module is
plain data, so the expert policy, the prompts and the policy server share one schema without
importing TVM.

Each fact round-trips through JSON (``to_json`` / ``from_json``); optional fields the search could
not fill are left out of the JSON rather than written as ``null``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

__all__ = [
    "CategoricalDecision",
    "ComputeLocationDecision",
    "CpuFacts",
    "Decision",
    "Facts",
    "IndivisibleReduction",
    "SerialReduction",
    "StridedRead",
    "TileDecision",
]


def _json(fact: Any) -> dict[str, Any]:
    """A fact's fields as JSON, ``None`` fields left out, tuples as lists."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(fact):
        value = getattr(fact, field.name)
        if value is None:
            continue
        out[field.name] = list(value) if isinstance(value, tuple) else value
    return out


def _from(cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names - {"kind"}
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "kind"}
    try:
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"not a {cls.__name__}: {exc}") from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TileDecision:
    """A ``SamplePerfectTile`` decision: how one loop is split into ``n`` tile levels.

    Attributes
    ----------
    name : str
        ``d0``, ``d1``, ... (trace order).
    value : tuple[int, ...]
        The sampled factors, outer to inner.
    extent, n, max_innermost : int
        The loop's extent, the number of levels, the largest innermost factor allowed.
    block, iter : str | None
        The block and its iterator the loop binds (``None`` when the loop is not a workload loop).
    reduction : bool
        Whether that iterator is a reduction axis.
    output_innermost : bool
        Whether it indexes the innermost (contiguous) dimension of the block's output.
    inputs_innermost : int | None
        How many of the block's inputs it indexes innermost.
    rfactor_level : int | None
        The tile level an ``RFactor`` turns into the partial results' loop, if any.
    reused, reused_bytes : tuple[str, ...], tuple[int, ...]
        The block's inputs that a spatial iterator does not index, and their sizes in bytes:
        each pass of the loop's outer tile levels reads them again.
    """

    kind: ClassVar[str] = "tile"
    name: str
    value: tuple[int, ...]
    extent: int
    n: int
    max_innermost: int
    block: str | None = None
    iter: str | None = None
    reduction: bool = False
    output_innermost: bool = False
    inputs_innermost: int | None = None
    rfactor_level: int | None = None
    reused: tuple[str, ...] = ()
    reused_bytes: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form, with ``"kind": "tile"``."""
        return {"kind": self.kind, **_json(self)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CategoricalDecision:
    """A ``SampleCategorical`` decision: ``value`` indexes ``candidates``; ``target`` is the
    annotation it feeds (e.g. ``meta_schedule.unroll_explicit``)."""

    kind: ClassVar[str] = "categorical"
    name: str
    value: int
    candidates: tuple[int, ...]
    target: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form, with ``"kind": "categorical"``."""
        return {"kind": self.kind, **_json(self)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComputeLocationDecision:
    """A ``SampleComputeLocation`` decision: where ``block`` is computed (-2 inline, -1 root,
    else a loop index); ``expensive`` when the block computes ``exp``, ``log``, ...."""

    kind: ClassVar[str] = "compute_location"
    name: str
    value: int
    block: str = ""
    expensive: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON form, with ``"kind": "compute_location"``."""
        return {"kind": self.kind, **_json(self)}


Decision = TileDecision | CategoricalDecision | ComputeLocationDecision
_DECISION_KINDS: dict[str, type] = {
    cls.kind: cls for cls in (TileDecision, CategoricalDecision, ComputeLocationDecision)
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CpuFacts:
    """The CPU numbers a policy needs: f32 SIMD lanes, cores, SIMD width and cache sizes."""

    lanes: int
    cores: int
    simd_bits: int
    l1d_kib: int | None = None
    l2_kib: int | None = None
    l3_kib: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form (unknown cache sizes are ``null``, as the detector reports them)."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SerialReduction:
    """A reduction block that one core runs alone, and the next step to spread it over the
    cores: ``split`` its loop into one part per core, or ``rfactor`` over the parts."""

    block: str
    loop: str
    extent: int
    action: Literal["split", "rfactor"]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StridedRead:
    """A loop nest without reduction whose innermost loop writes its output contiguously but reads
    ``buffer`` across rows (a transpose or a layout change: every element of a cache line it reads
    belongs to another iteration of an outer loop, the read loop), and the next step of the 2-D
    tiling that makes both sides contiguous in cache: ``split`` the innermost (write) loop, then
    ``split`` the read loop, then ``reorder`` so that the read tile sits just outside the write
    tile.

    Attributes
    ----------
    block : str
        The block.
    buffer : str
        The input it reads across rows.
    action : {"split", "reorder"}
        The next step.
    side : {"write", "read"} | None
        Which loop a split acts on.
    loop : str | None
        That loop's name in the step IR.
    extent : int | None
        Its extent.
    unit : int | None
        What a tile of that loop should hold whole: SIMD lanes of the output's dtype (write
        side), or elements of one cache line of the input (read side).
    loops : tuple of str
        A reorder's loops in their new order.
    """

    # The widest tile of each side, in units: two SIMD vectors of output, four cache lines of
    # input (64x32 fp32 ran best of 12 sizes by hand on znver5; 16-64 x 16-32 within 10 %).
    WIDEST_UNITS: ClassVar[dict[str, int]] = {"write": 2, "read": 4}

    block: str
    buffer: str
    action: Literal["split", "reorder"]
    side: Literal["write", "read"] | None = None
    loop: str | None = None
    extent: int | None = None
    unit: int | None = None
    loops: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return _json(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class IndivisibleReduction:
    """A reduction block whose innermost loop sums along an input's contiguous dimension over an
    extent that no SIMD vector divides (a prime row length), and the next step to vectorize it.

    MetaSchedule's rfactor splits a reduction into perfect tiles only, so for such an extent its
    partial sums stay scalar: one dependent add per element. Two steps fix it: ``split`` the loop
    into ``parts`` inner iterations, the last outer iteration guarded (``"action": "split"``),
    then ``rfactor`` over the inner loop with the partials as the innermost axis of a new buffer
    (``"action": "rfactor"``, ``factor_axis``); the postprocessor vectorizes the partials.
    A reduction with an even extent that one core runs alone also has a
    :class:`SerialReduction`; whichever split comes first ends the other fact.

    Attributes
    ----------
    block : str
        The block.
    loop : str
        The loop the step acts on, by its step-IR name.
    extent : int
        The reduction's extent (the block iterator's, before any split).
    parts : int
        The inner loop's extent: a whole number of SIMD vectors of the accumulator's dtype.
    lanes : int
        SIMD lanes of the accumulator's dtype.
    action : {"split", "rfactor"}
        The next step.
    factor_axis : int | None
        Where an rfactor puts the partials' axis: after the output's own axes.
    """

    # The widest inner loop, in SIMD vectors: four independent vector accumulators (333 rows of
    # 1777 fp32 by hand on znver5, one thread: 16, 32, 64 and 128 partials ran 55, 46, 51 and
    # 56 us, against 310 us for the design space).
    WIDEST_VECTORS: ClassVar[int] = 4

    block: str
    loop: str
    extent: int
    parts: int
    lanes: int
    action: Literal["split", "rfactor"]
    factor_axis: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return _json(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Facts:
    """Everything structured a proposer knows about a state.

    Examples
    --------
    >>> facts = Facts(cpu=CpuFacts(lanes=8, cores=2, simd_bits=256))
    >>> Facts.from_json(facts.to_json()) == facts
    True
    """

    decisions: tuple[Decision, ...] = ()
    cpu: CpuFacts | None = None
    serial_reductions: tuple[SerialReduction, ...] = ()
    strided_reads: tuple[StridedRead, ...] = ()
    indivisible_reductions: tuple[IndivisibleReduction, ...] = ()

    def decision(self, name: str) -> Decision | None:
        """The decision called ``name`` (``d3``), or ``None``."""
        return next((d for d in self.decisions if d.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """JSON form (no ``cpu`` key when unknown)."""
        out: dict[str, Any] = {"decisions": [d.to_json() for d in self.decisions]}
        if self.cpu is not None:
            out["cpu"] = self.cpu.to_json()
        out["serial_reductions"] = [r.to_json() for r in self.serial_reductions]
        if self.strided_reads:  # left out when empty: other situations serialize as before
            out["strided_reads"] = [r.to_json() for r in self.strided_reads]
        if self.indivisible_reductions:
            out["indivisible_reductions"] = [r.to_json() for r in self.indivisible_reductions]
        return out

    @classmethod
    def from_json(cls, data: Any) -> Facts:
        """Inverse of :meth:`to_json`.

        Raises
        ------
        ValueError
            ``data`` is not a facts object (unknown keys or decision kinds, missing fields).
        """
        if not isinstance(data, dict):
            raise ValueError("facts must be a JSON object")
        known = {
            "decisions",
            "cpu",
            "serial_reductions",
            "strided_reads",
            "indivisible_reductions",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"facts have no fields {sorted(unknown)}")
        decisions = []
        for item in data.get("decisions", ()):
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind not in _DECISION_KINDS:
                raise ValueError(f"unknown decision kind {kind!r}")
            decisions.append(_from(_DECISION_KINDS[kind], item))
        cpu = data.get("cpu")
        return cls(
            decisions=tuple(decisions),
            cpu=_from(CpuFacts, cpu) if cpu is not None else None,
            serial_reductions=tuple(
                _from(SerialReduction, r) for r in data.get("serial_reductions", ())
            ),
            strided_reads=tuple(_from(StridedRead, r) for r in data.get("strided_reads", ())),
            indivisible_reductions=tuple(
                _from(IndivisibleReduction, r) for r in data.get("indivisible_reductions", ())
            ),
        )
