"""Facts about a state's loops and blocks that step suggestions need (spatial or reduction, extent,
innermost, producers), read from the TIR under the canonical names."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..ir.naming import NameTable, child_stmts


@dataclasses.dataclass
class LoopFacts:
    """One loop: extent (None if not constant), for-kind, and how the blocks under it use it."""

    name: str
    extent: int | None
    kind: str  # "serial", "parallel", "vectorized", "unrolled", "thread_binding"
    depth: int
    spatial: bool = False  # bound to a data-parallel iterator of some block below
    reduction: bool = False  # bound to a reduction iterator of some block below
    innermost: bool = True  # no loop nested inside it
    blocks: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class BlockFacts:
    """One block: its loops (outer first), whether it reduces, and its buffer counts."""

    name: str
    loops: tuple[str, ...]
    reduction: bool
    has_init: bool
    reads: int
    writes: int


def analyze(mod: Any, names: NameTable) -> tuple[dict[str, LoopFacts], dict[str, BlockFacts]]:
    """Loop and block facts of one scheduled module, keyed by the canonical names of ``names``."""
    import tvm

    loops: dict[str, LoopFacts] = {}
    blocks: dict[str, BlockFacts] = {}
    for name in names.loop_order:
        site = names.loops[name]
        extent = site.node.extent
        loops[name] = LoopFacts(
            name,
            int(extent.value) if hasattr(extent, "value") else None,
            tvm.tirx.ForKind(int(site.node.kind)).name.lower(),
            site.depth,
        )

    def visit(stmt: Any, enclosing: tuple[str, ...]) -> None:
        if isinstance(stmt, tvm.tirx.For):
            name = names.loop_name(stmt)
            if enclosing and enclosing[-1] in loops:
                loops[enclosing[-1]].innermost = False
            enclosing = enclosing + (name,)
        elif isinstance(stmt, tvm.s_tir.SBlockRealize) and stmt.block.name_hint != "root":
            block = stmt.block
            var_to_loop = {names.loops[n].node.loop_var: n for n in enclosing if n in loops}
            for iter_var, value in zip(block.iter_vars, stmt.iter_values, strict=True):
                for var in tvm.tirx.analysis.undefined_vars(value):
                    loop = var_to_loop.get(var)
                    if loop is None:
                        continue
                    if iter_var.iter_type == tvm.tirx.IterVar.CommReduce:
                        loops[loop].reduction = True
                    else:
                        loops[loop].spatial = True
            for loop in enclosing:
                if loop in loops:
                    loops[loop].blocks.append(block.name_hint)
            blocks[block.name_hint] = BlockFacts(
                block.name_hint,
                tuple(n for n in enclosing if n in loops),
                any(iv.iter_type == tvm.tirx.IterVar.CommReduce for iv in block.iter_vars),
                block.init is not None,
                len(block.reads),
                len(block.writes),
            )
            enclosing = ()  # loops inside a block body belong to nested blocks
        for child in child_stmts(stmt):
            visit(child, enclosing)

    visit(mod["main"].body, ())
    return loops, blocks
