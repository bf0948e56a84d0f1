"""Canonical names for the sites of a schedule state: blocks, loops and sampled decisions.

The step-level IR shows these names and the step language addresses sites by them, so both sides
go through one :class:`NameTable`:

- **blocks** keep their TIR ``sblock`` name (unique within a PrimFunc; TVM derives new names
  deterministically, e.g. ``Z_global`` after ``cache_write``); the root block is not a site;
- **loops** are ``l0, l1, ...`` in pre-order over the PrimFunc body (outer before inner, earlier
  statements first), so two states with the same loop tree have the same names whatever steps led
  to them;
- **decisions** (in states with a sampled MetaSchedule trace) are ``d0, d1, ...`` in trace order of
  the sampling instructions (``SamplePerfectTile``, ``SampleCategorical``,
  ``SampleComputeLocation``).

A name table is computed from one schedule state and is only valid for that state: take a new one
after every step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ..errors import UnknownSiteError

SAMPLE_KINDS = ("SamplePerfectTile", "SampleCategorical", "SampleComputeLocation")
"""The trace instructions that sample a decision, named ``d0, d1, ...`` in trace order."""


def sampling_insts(trace: Any) -> list[Any]:
    """The decision-sampling instructions of ``trace`` in order (``d0`` first)."""
    return [inst for inst in trace.insts if inst.kind.name in SAMPLE_KINDS]


def decided_block_name(sch: Any, getter: Any, block_rv: Any) -> str:
    """The name of the block a ``SampleComputeLocation`` decides on ("" if unknown).

    ``getter`` is the instruction that produced ``block_rv``: a ``GetSBlock`` names it; a block
    reached otherwise (e.g. ``GetProducers`` of an rfactor block) is looked up in ``sch``, which
    works while the block still exists (an inlined one is gone).
    """
    if getter is not None and getter.kind.name == "GetSBlock":
        return str(getter.attrs[0])
    from tvm.s_tir.schedule import _ffi_api

    try:
        # The raw FFI call: Schedule.get's runtime type checker costs ~10x the lookup itself.
        return str(_ffi_api.ScheduleGet(sch, block_rv).name_hint)
    except Exception:  # the RV expired (its block was inlined or replaced)
        return ""


def plain_decision(value: Any) -> Any:
    """A trace decision (or a sampling attribute) as Python ints: a list for tilings."""
    if hasattr(value, "__len__") and not isinstance(value, str):
        return [plain_decision(v) for v in value]
    return int(value.value) if hasattr(value, "value") else int(value)


@dataclasses.dataclass(frozen=True)
class LoopSite:
    """One loop of the state: canonical name, the node, and a block under it to reach it by."""

    name: str
    node: Any  # tvm.tirx.For
    block: str  # name of the first block nested under this loop
    depth: int  # 0 for an outermost loop


@dataclasses.dataclass(frozen=True)
class BlockSite:
    """One non-root block: name, node, and canonical names of its enclosing loops (outer first)."""

    name: str
    node: Any  # tvm.s_tir.SBlock
    loops: tuple[str, ...]


def child_stmts(stmt: Any) -> list[Any]:
    """Direct sub-statements of a TIR statement, in program order."""
    import tvm

    if isinstance(stmt, tvm.tirx.SeqStmt):
        return list(stmt.seq)
    if isinstance(stmt, tvm.s_tir.SBlockRealize):
        return [stmt.block]
    if isinstance(stmt, tvm.s_tir.SBlock):
        return ([stmt.init] if stmt.init is not None else []) + [stmt.body]
    if isinstance(stmt, tvm.tirx.IfThenElse):
        return [stmt.then_case] + ([stmt.else_case] if stmt.else_case is not None else [])
    body = getattr(stmt, "body", None)
    return [body] if body is not None else []


def iter_stmts(stmt: Any) -> Iterator[Any]:
    """Every statement under ``stmt`` (itself included) in pre-order, blocks included."""
    stack = [stmt]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(child_stmts(node)))


class NameTable:
    """Canonical names of one schedule state's blocks, loops and decisions.

    Parameters
    ----------
    sch : tvm.s_tir.Schedule
        The state. Its module must hold one PrimFunc ``main``.

    Examples
    --------
    >>> names = NameTable(sch)          # doctest: +SKIP
    >>> names.loop_rv(sch, "l2")         # doctest: +SKIP
    >>> names.block_rv(sch, "Z")         # doctest: +SKIP
    """

    def __init__(self, sch: Any):
        self._index(sch.mod["main"], sch.trace)

    @classmethod
    def for_func(cls, func: Any) -> NameTable:
        """Name table of an unscheduled PrimFunc (no schedule, so no decisions).

        The loop and block names equal those of ``NameTable(tvm.s_tir.Schedule(mod))``.
        """
        table = cls.__new__(cls)
        table._index(func, None)
        return table

    def _index(self, func: Any, trace: Any) -> None:
        import tvm

        self.loops: dict[str, LoopSite] = {}
        self.blocks: dict[str, BlockSite] = {}
        self._loop_name_of: dict[Any, str] = {}
        pending: list[tuple[str, Any, int]] = []  # loops still waiting for their first block

        def visit(stmt: Any, enclosing: tuple[str, ...]) -> None:
            if isinstance(stmt, tvm.tirx.For):
                name = f"l{len(self._loop_name_of)}"
                self._loop_name_of[stmt] = name
                pending.append((name, stmt, len(enclosing)))
                enclosing = enclosing + (name,)
            elif isinstance(stmt, tvm.s_tir.SBlock) and stmt.name_hint != "root":
                self.blocks[stmt.name_hint] = BlockSite(stmt.name_hint, stmt, enclosing)
                for loop_name, node, depth in pending:
                    self.loops[loop_name] = LoopSite(loop_name, node, stmt.name_hint, depth)
                pending.clear()
                # Loops inside a block body (e.g. a block's own init) belong to nested blocks.
                enclosing = ()
            for child in child_stmts(stmt):
                visit(child, enclosing)

        visit(func.body, ())
        # Loops that hold no block (rare: empty nests) cannot be addressed through the schedule.
        self.loop_order: list[str] = [n for n in self._loop_name_of.values() if n in self.loops]
        self.decisions: list[Any] = []
        if trace is not None:
            self.decisions = sampling_insts(trace)

    # -- lookups ------------------------------------------------------------------------------
    def loop_name(self, node: Any) -> str:
        """Canonical name of a ``For`` node of this state."""
        try:
            return self._loop_name_of[node]
        except KeyError:
            raise UnknownSiteError("this loop is not part of the named state") from None

    def loop_rv(self, sch: Any, name: str) -> Any:
        """The ``LoopRV`` of the loop called ``name`` in ``sch``.

        Raises
        ------
        UnknownSiteError
            If no loop has that name; the message lists the loops that exist.
        """
        site = self.loops.get(name)
        if site is None:
            raise UnknownSiteError(
                f"unknown loop {name!r}; loops are {', '.join(self.loop_order) or '(none)'}"
            )
        for rv in sch.get_loops(sch.get_sblock(site.block)):
            if sch.get(rv).same_as(site.node):
                return rv
        raise UnknownSiteError(f"loop {name!r} is no longer in the schedule")

    def block_rv(self, sch: Any, name: str) -> Any:
        """The ``SBlockRV`` of the block called ``name`` in ``sch``.

        Raises
        ------
        UnknownSiteError
            If no block has that name; the message lists the blocks that exist.
        """
        if name not in self.blocks:
            raise UnknownSiteError(
                f"unknown block {name!r}; blocks are {', '.join(self.blocks) or '(none)'}"
            )
        return sch.get_sblock(name)

    def decision(self, name: str) -> Any:
        """The sampling instruction called ``name`` (``d0``, ``d1``, ...)."""
        if name.startswith("d") and name[1:].isdigit() and int(name[1:]) < len(self.decisions):
            return self.decisions[int(name[1:])]
        raise UnknownSiteError(
            f"unknown decision {name!r}; decisions are d0..d{len(self.decisions) - 1}"
            if self.decisions
            else f"unknown decision {name!r}; this state has no sampled decisions"
        )
