"""Facts about a state, read from TVM: the search side of :mod:`tvm_llm_sched.proposers.facts`.

:func:`state_facts` fills the typed schema that proposers read: every sampled decision with the
block iterator it acts on, the categorical choices and compute locations, the reductions one core
runs alone, the loop nests that read across the rows they write, the reductions whose extent no
SIMD vector divides, and the CPU numbers of the target.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from ..ir.naming import SAMPLE_KINDS, NameTable, decided_block_name, iter_stmts, plain_decision
from ..proposers.facts import (
    CategoricalDecision,
    ComputeLocationDecision,
    CpuFacts,
    Decision,
    Facts,
    IndivisibleReduction,
    SerialReduction,
    StridedRead,
    TileDecision,
)
from ..steps.factors import MAX_VECTOR_LOOP, fills_no_vector, tile_sizes


def _producer(insts: list[Any], rv: Any) -> Any | None:
    for inst in insts:
        if any(out.same_as(rv) for out in inst.outputs):
            return inst
    return None


def _consumer(insts: list[Any], start: int, rv: Any, kind: str) -> Any | None:
    for inst in insts[start + 1 :]:
        if inst.kind.name == kind and any(arg.same_as(rv) for arg in inst.inputs):
            return inst
    return None


@functools.lru_cache(maxsize=256)
def _block_iter_info(mod: Any, block_name: str, loop_index: int) -> dict[str, Any]:
    """Iterator facts of the ``loop_index``-th loop of ``block_name`` in the unscheduled ``mod``.

    Cached: it depends only on the workload, and proposers ask for it on every situation. Callers
    copy the result (``dict.update``), never mutate it.
    """
    import tvm

    try:
        sch = tvm.s_tir.Schedule(mod)
        block_rv = sch.get_sblock(block_name)
        loops = sch.get_loops(block_rv)
        loop_var = sch.get(loops[loop_index]).loop_var
        block = sch.get(block_rv)
    except Exception:  # block made by a schedule rule (e.g. an rfactor block): no original loop
        return {}
    bindings = _bindings(sch, block_rv)
    for iter_var, value in zip(block.iter_vars, bindings, strict=False):
        if _uses(value, loop_var):
            out_region = block.writes[0].region if block.writes else []
            innermost = bool(out_region) and _uses(out_region[-1].min, iter_var.var)
            reads_innermost = [
                _uses(read.region[-1].min, iter_var.var) for read in block.reads if read.region
            ]
            reduction = int(iter_var.iter_type) == 2
            # Inputs this spatial loop does not index: the data it reuses, re-read once per step
            # of its outer tile levels (a matmul's weight across the rows).
            reused = (
                {}
                if reduction
                else {
                    str(read.source.name): _buffer_bytes(read.source)
                    for read in block.reads
                    if not any(_uses(r.min, iter_var.var) for r in read.region)
                }
            )
            return {
                "iter": str(iter_var.var.name),
                "reduction": reduction,
                "output_innermost": innermost,
                "inputs_innermost": sum(reads_innermost),
                "reused": tuple(reused),
                "reused_bytes": tuple(reused.values()),
            }
    return {}


def _buffer_bytes(buffer: Any) -> int:
    """A buffer's size in bytes (0 for a symbolic shape)."""
    try:
        elements = math.prod(int(extent) for extent in buffer.shape)
    except TypeError:
        return 0
    return elements * buffer.dtype.itemsize


def _bindings(sch: Any, block_rv: Any) -> list[Any]:
    import tvm

    block = sch.get(block_rv)
    for stmt in iter_stmts(sch.mod["main"].body):
        if isinstance(stmt, tvm.s_tir.SBlockRealize) and stmt.block.same_as(block):
            return list(stmt.iter_values)
    return []


def _site_bindings(sch: Any, names: NameTable, site: Any) -> list[Any] | None:
    """The iterator bindings of a named block, or ``None`` for a name the table cannot reach
    (no fact, no step)."""
    try:
        return _bindings(sch, names.block_rv(sch, site.name))
    except Exception:
        return None


def _site_loops(names: NameTable, site: Any) -> list[Any]:
    """The named loops around a block, outermost first."""
    return [names.loops[name] for name in site.loops if name in names.loops]


def _lanes(simd_bits: int, dtype: Any) -> int:
    """SIMD lanes of ``dtype`` in a register of ``simd_bits``."""
    return max(simd_bits // (8 * dtype.itemsize), 1)


_TRANSCENDENTAL = frozenset(
    f"tirx.{name}"
    for name in (
        "exp",
        "exp2",
        "exp10",
        "log",
        "log2",
        "log10",
        "pow",
        "tanh",
        "sigmoid",
        "erf",
        "sin",
        "cos",
        "tan",
        "atan",
        "sqrt",
        "rsqrt",
    )
)


@functools.lru_cache(maxsize=256)
def _calls_transcendental(mod: Any, block_name: str) -> bool:
    """Whether block ``block_name`` of ``mod`` computes a transcendental function (``exp``, ...):
    inlining such a block into several consumers computes it once per consumer."""
    import tvm

    try:
        sch = tvm.s_tir.Schedule(mod)
        body = sch.get(sch.get_sblock(block_name)).body
    except Exception:  # a block made by a schedule rule: not in the workload
        return False
    return _mentions_op(getattr(body, "value", None), _TRANSCENDENTAL)


def _operands(expr: Any) -> list[Any]:
    """The sub-expressions of a TIR expression (tvm 0.27 has no Python expr visitor)."""
    children = [
        getattr(expr, f, None)
        for f in ("a", "b", "value", "condition", "true_value", "false_value")
    ]
    children += list(getattr(expr, "args", ()) or ())
    # Plain numbers are the ``value`` of constants, not expressions.
    return [c for c in children if c is not None and not isinstance(c, (str, int, float))]


def _mentions_op(expr: Any, ops: frozenset[str]) -> bool:
    if expr is None:
        return False
    op = getattr(expr, "op", None)
    if op is not None and getattr(op, "name", None) in ops:
        return True
    return any(_mentions_op(child, ops) for child in _operands(expr))


def _uses(expr: Any, var: Any) -> bool:
    """Whether TIR expression ``expr`` mentions ``var``."""
    if expr.same_as(var):
        return True
    # TVM 0.27's arithmetic nodes (``tvm.ir.prim.expr.Add``, ...) carry no ``dtype`` attribute:
    # recurse into anything that is an IR object.
    return any(hasattr(child, "same_as") and _uses(child, var) for child in _operands(expr))


def decision_facts(sch: Any, mod: Any) -> tuple[Decision, ...]:
    """One typed fact per sampled decision of ``sch.trace`` (``d0, d1, ...`` in trace order).

    Parameters
    ----------
    sch : tvm.s_tir.Schedule
        A schedule with a MetaSchedule trace (a design-space sample or a state built on one).
    mod : tvm.IRModule
        The unscheduled workload (to read iterator kinds and output layout).
    """
    if sch.trace is None:
        return ()
    trace = sch.trace
    insts = list(trace.insts)
    facts: list[Decision] = []
    for position, inst in enumerate(insts):
        kind = inst.kind.name
        if kind not in SAMPLE_KINDS:
            continue
        name = f"d{len(facts)}"
        value = plain_decision(trace.get_decision(inst))
        if kind == "SamplePerfectTile":
            facts.append(
                TileDecision(
                    name=name,
                    value=tuple(value),
                    extent=math.prod(value),
                    n=int(inst.attrs[0]),
                    max_innermost=int(inst.attrs[1]),
                    rfactor_level=_rfactor_level(insts, position, inst),
                    **_loop_origin(insts, mod, inst.inputs[0]),
                )
            )
        elif kind == "SampleCategorical":
            annotate = _consumer(insts, position, inst.outputs[0], "Annotate")
            facts.append(
                CategoricalDecision(
                    name=name,
                    value=value,
                    candidates=tuple(plain_decision(inst.attrs[0])),
                    target=str(annotate.attrs[0]) if annotate is not None else "",
                )
            )
        else:
            block = decided_block_name(sch, _producer(insts, inst.inputs[0]), inst.inputs[0])
            facts.append(
                ComputeLocationDecision(
                    name=name,
                    value=value,
                    block=block,
                    expensive=_calls_transcendental(mod, block),
                )
            )
    return tuple(facts)


def _loop_origin(insts: list[Any], mod: Any, loop_rv: Any) -> dict[str, Any]:
    """Block and iterator facts of a loop the trace got from ``GetLoops`` (directly, or fused
    from several such loops: then the first one's iterator speaks for the fused loop, as the
    rules fuse loops of one kind only)."""
    origin = _producer(insts, loop_rv)
    if origin is not None and origin.kind.name == "Fuse" and origin.inputs:
        loop_rv = origin.inputs[0]
        origin = _producer(insts, loop_rv)
    if origin is None or origin.kind.name != "GetLoops":
        return {}
    block_inst = _producer(insts, origin.inputs[0])
    if block_inst is None or block_inst.kind.name != "GetSBlock":
        return {}
    index = next(i for i, o in enumerate(origin.outputs) if o.same_as(loop_rv))
    block = str(block_inst.attrs[0])
    return {"block": block, **_block_iter_info(mod, block, index)}


def _rfactor_level(insts: list[Any], position: int, sample: Any) -> int | None:
    """Which tile level of ``sample`` an ``RFactor`` turns into a spatial loop of the rf block
    (its partial results), or None. MetaSchedule's AddRFactor rule splits a reduction loop with
    the sampled tile, then rfactors one of the split loops."""
    split = next(
        (
            inst
            for inst in insts[position + 1 :]
            if inst.kind.name == "Split"
            and any(arg.same_as(sample.outputs[0]) for arg in inst.inputs)
        ),
        None,
    )
    if split is None:
        return None
    for level, loop in enumerate(split.outputs):
        if _consumer(insts, position, loop, "RFactor") is not None:
            return level
    return None


# A reduction shorter than this many iterations per core is not worth splitting over the cores.
_MIN_RUN_PER_CORE = 64


def serial_reduction_facts(
    sch: Any, cores: int, names: NameTable | None = None
) -> tuple[SerialReduction, ...]:
    """Reduction blocks that one core runs alone, and the step that starts to split them.

    A block qualifies when the loops outside its outermost reduction loop have fewer than
    ``cores`` iterations in all (nothing for a parallel loop to share), as after MetaSchedule's
    AddRFactor puts a full reduction's partial results in the innermost, vectorized loop. Its
    design space has no program that spreads such a reduction over the cores; two steps do:
    ``split`` the reduction loop into ``cores`` parts (``"action": "split"``), then ``rfactor``
    over those parts (``"action": "rfactor"``), whose outer loop the postprocessor parallelizes.
    ``names`` is the state's name table, if the caller has it (built here otherwise).

    Returns
    -------
    tuple[SerialReduction, ...]
        One per block; ``loop`` is the loop's name in the step IR.
    """
    if cores < 2:
        return ()
    names = names or NameTable(sch)
    out = []
    for site in names.blocks.values():
        if f"{site.name}_rf" in names.blocks:
            continue  # its rfactor block would repeat that name (the rfactor step refuses it)
        bindings = _site_bindings(sch, names, site)
        if bindings is None:
            continue
        reduce_vars = [
            value
            for iter_var, value in zip(site.node.iter_vars, bindings, strict=False)
            if int(iter_var.iter_type) == 2
        ]
        loops = _site_loops(names, site)
        reduce_at = [
            i
            for i, loop in enumerate(loops)
            if any(_uses(value, loop.node.loop_var) for value in reduce_vars)
        ]
        if not reduce_at:
            continue
        first = reduce_at[0]
        extents = _static(*(loop.node.extent for loop in loops[: first + 1]))
        if extents is None:
            continue  # a loop whose extent is an expression (after a guarded split): no step
        outside, extent = math.prod(extents[:-1]), extents[-1]
        if outside >= cores:
            continue
        if extent == cores and len(reduce_at) > 1:
            action = "rfactor"
        elif extent % cores == 0 and extent >= _MIN_RUN_PER_CORE * cores:
            action = "split"
        else:
            continue
        out.append(
            SerialReduction(block=site.name, loop=loops[first].name, extent=extent, action=action)
        )
    return tuple(out)


_CACHE_LINE_BYTES = 64


def _loop_iters(loop: Any, iter_vars: list[Any], bindings: list[Any]) -> list[Any]:
    """The block iterators whose binding moves with ``loop``."""
    var = loop.node.loop_var
    return [iv.var for iv, value in zip(iter_vars, bindings, strict=False) if _uses(value, var)]


def _uses_any(expr: Any, variables: list[Any]) -> bool:
    return any(_uses(expr, var) for var in variables)


def _static(*extents: Any) -> list[int] | None:
    """The extents as ints, or ``None`` if one is symbolic."""
    try:
        return [int(extent) for extent in extents]
    except TypeError:
        return None


def strided_read_facts(
    sch: Any, simd_bits: int, names: NameTable | None = None
) -> tuple[StridedRead, ...]:
    """Loop nests without reduction that read across the rows they write, and the next step of
    the 2-D tiling that fixes it.

    A block qualifies when its innermost loop indexes the last (contiguous) dimension of its
    output but not that of an input it reads, and moves that input by at least a cache line per
    iteration (a transpose: ``C[i, j] = A[j, i]``). Each cache line of the input then serves one
    element before the loop moves on. MetaSchedule's design space does not tile such a block (it
    is one program when the block stands alone: the root's parallel and vectorize annotations).
    Three steps tile it: ``split`` the innermost (write) loop to one or two SIMD vectors, ``split``
    the loop that walks the input's contiguous dimension (the read loop) to one or four cache
    lines, and ``reorder`` so that the read tile sits just outside the write tile; the
    postprocessors then parallelize the outer loops and vectorize the write tile. A split is
    reported only when a tile size divides its loop (:func:`~tvm_llm_sched.steps.factors.
    tile_sizes`), and a nest whose read loop already sits just outside a short write loop is
    left alone.

    Parameters
    ----------
    sch : tvm.s_tir.Schedule
        The state.
    simd_bits : int
        SIMD register width of the target (sizes the write tile).
    names : NameTable | None
        The state's name table, if the caller has it (built here otherwise).

    Returns
    -------
    tuple[StridedRead, ...]
        One per block that still needs a step; loop names are the step IR's.
    """
    return _per_block(sch, names, _strided_read, simd_bits)


def _per_block(
    sch: Any, names: NameTable | None, fact_of: Callable[..., Any | None], *args: Any
) -> tuple[Any, ...]:
    """``fact_of(sch, names, site, *args)`` for every block of the state, without the blocks it
    returns ``None`` for (``names``: the state's name table, built here if the caller has none)."""
    names = names or NameTable(sch)
    facts = (fact_of(sch, names, site, *args) for site in names.blocks.values())
    return tuple(fact for fact in facts if fact is not None)


def _strided_read(sch: Any, names: NameTable, site: Any, simd_bits: int) -> StridedRead | None:
    block = site.node
    # Reductions are tiled by the design space; a block with several outputs has no one
    # contiguous write side to tile for.
    if any(int(iv.iter_type) != 0 for iv in block.iter_vars) or len(block.writes) != 1:
        return None
    loops = _site_loops(names, site)
    if len(loops) < 2 or any(int(loop.node.kind) != 0 for loop in loops):
        return None  # already parallel, vectorized or unrolled: not ours to re-tile
    bindings = _site_bindings(sch, names, site)
    if bindings is None:
        return None
    iters = {loop.name: _loop_iters(loop, list(block.iter_vars), bindings) for loop in loops}
    inner = loops[-1]
    write = block.writes[0]
    if not write.region or not _uses_any(write.region[-1].min, iters[inner.name]):
        return None
    read = _strided_input(block, loops, iters)
    if read is None:
        return None
    buffer, read_loop = read
    extents = _static(inner.node.extent, read_loop.node.extent)
    if extents is None:
        return None
    inner_extent, read_extent = extents
    lanes = _lanes(simd_bits, write.source.dtype)
    line = max(_CACHE_LINE_BYTES // buffer.dtype.itemsize, 1)
    common = {"block": site.name, "buffer": str(buffer.name)}
    if inner_extent < lanes:
        return None  # not even one vector to write contiguously
    widest = StridedRead.WIDEST_UNITS
    if inner_extent > widest["write"] * lanes:
        if not tile_sizes(inner_extent, lanes, widest["write"]):
            return None
        return StridedRead(
            **common, action="split", side="write", loop=inner.name, extent=inner_extent, unit=lanes
        )
    between = loops[loops.index(read_loop) + 1 : -1]
    if all(_static(loop.node.extent) == [1] for loop in between):
        return None  # the read loop already sits just outside a short write loop: tiled
    if read_extent > widest["read"] * line and tile_sizes(read_extent, line, widest["read"]):
        return StridedRead(
            **common,
            action="split",
            side="read",
            loop=read_loop.name,
            extent=read_extent,
            unit=line,
        )
    return StridedRead(
        **common, action="reorder", loops=(*(loop.name for loop in between), read_loop.name)
    )


def _strided_input(
    block: Any, loops: list[Any], iters: dict[str, list[Any]]
) -> tuple[Any, Any] | None:
    """The largest input the innermost loop reads across rows (by at least a cache line per
    iteration), and the loop nearest to it that walks that input's last dimension (``iters``:
    each loop's block iterators)."""
    inner_iters = iters[loops[-1].name]
    best = None
    for read in block.reads:
        region, buffer = read.region, read.source
        if not region or _uses_any(region[-1].min, inner_iters):
            continue
        shape = _static(*buffer.shape)
        if shape is None:
            continue  # a symbolic shape: the stride is unknown
        line = _CACHE_LINE_BYTES // buffer.dtype.itemsize
        strides = [math.prod(shape[d + 1 :]) for d in range(len(shape))]
        if not any(
            _uses_any(r.min, inner_iters) and stride >= line
            for r, stride in zip(region, strides, strict=False)
        ):
            continue
        walking = [loop for loop in loops[:-1] if _uses_any(region[-1].min, iters[loop.name])]
        if walking and (best is None or _buffer_bytes(buffer) > _buffer_bytes(best[0])):
            best = (buffer, walking[-1])
    return best


def indivisible_reduction_facts(
    sch: Any, simd_bits: int, names: NameTable | None = None
) -> tuple[IndivisibleReduction, ...]:
    """Reductions along contiguous memory whose extent no SIMD vector divides, and the next step
    that vectorizes them.

    A block qualifies when its innermost loop moves exactly one block iterator, a reduction one,
    that indexes the last (contiguous) dimension of an input, while no input it walks has a last
    dimension that moves with a spatial iterator (nothing else to vectorize, as in a row sum; a
    matmul's output columns are), and when the reduction's extent has no divisor from one SIMD
    vector to 64: every perfect tile, and so every rfactor of MetaSchedule's design space, leaves
    the partial sums scalar. Reported: ``split`` the loop with a whole number of vectors inside
    (the tail guarded), then ``rfactor`` over that inner loop. Left alone: a block already
    rfactored or with several outputs, one after another reduction block (TVM 0.27's
    postprocessor cannot rewrite its guarded rfactor), and one whose rfactor TVM refuses (tried
    on a copy).

    Parameters
    ----------
    sch : tvm.s_tir.Schedule
        The state.
    simd_bits : int
        SIMD register width of the target.
    names : NameTable | None
        The state's name table, if the caller has it (built here otherwise).

    Returns
    -------
    tuple[IndivisibleReduction, ...]
        One per block that still needs a step; loop names are the step IR's.
    """
    return _per_block(sch, names, _indivisible_reduction, simd_bits)


def _indivisible_reduction(
    sch: Any, names: NameTable, site: Any, simd_bits: int
) -> IndivisibleReduction | None:
    if site.name.endswith("_rf") or f"{site.name}_rf" in names.blocks:
        return None  # rfactored already; another rfactor would repeat the name
    block = site.node
    loops = _site_loops(names, site)
    if len(block.writes) != 1 or not loops or int(loops[-1].node.kind) != 0:
        return None
    bindings = _site_bindings(sch, names, site)
    if bindings is None:
        return None
    inner = loops[-1]
    moved = [
        (iv, value)
        for iv, value in zip(block.iter_vars, bindings, strict=False)
        if _uses(value, inner.node.loop_var)
    ]
    if len(moved) != 1 or int(moved[0][0].iter_type) != 2:
        return None
    reduce_var, binding = moved[0]
    spatial = [iv.var for iv in block.iter_vars if int(iv.iter_type) == 0]
    # The inputs the reduction walks (a row mean's A[i, k]; not the mean[i] a variance subtracts)
    walked = [
        read.region
        for read in block.reads
        if read.region and any(_uses(r.min, reduce_var.var) for r in read.region)
    ]
    # TVM 0.27's RewriteReductionBlock raises on a guarded rfactor that follows another
    # reduction block of the function (a variance after its mean, a sum after a max), even an
    # unrelated one: such a program is never measured, so no step is offered.
    order = list(names.blocks)
    if any(
        int(iv.iter_type) == 2
        for other in order[: order.index(site.name)]
        for iv in names.blocks[other].node.iter_vars
    ):
        return None
    if not any(_uses(region[-1].min, reduce_var.var) for region in walked) or any(
        _uses_any(region[-1].min, spatial) for region in walked
    ):
        return None
    sizes = _static(reduce_var.dom.extent, inner.node.extent)
    if sizes is None:
        return None
    extent, inner_extent = sizes
    lanes = _lanes(simd_bits, block.writes[0].source.dtype)
    if not fills_no_vector(extent, lanes):
        return None  # a perfect tile fills a vector: the design space's rfactor has it
    common = {"block": site.name, "extent": extent, "lanes": lanes}
    axis = len(block.writes[0].region)  # the partials after the output's own axes
    if binding.same_as(inner.node.loop_var):
        vectors = min(IndivisibleReduction.WIDEST_VECTORS, MAX_VECTOR_LOOP // lanes)
        while vectors > 1 and 2 * vectors * lanes > extent:
            vectors //= 2  # at least two outer iterations
        if 2 * vectors * lanes > extent:
            return None  # shorter than two vectors: little to gain
        if not _rfactor_applies(sch, names, inner.name, vectors * lanes, axis):
            return None
        return IndivisibleReduction(
            **common, loop=inner.name, parts=vectors * lanes, action="split"
        )
    moving = [loop for loop in loops if _uses(binding, loop.node.loop_var)]
    if len(moving) == 2 and inner_extent % lanes == 0 and inner_extent <= MAX_VECTOR_LOOP:
        if not _rfactor_applies(sch, names, inner.name, None, axis):
            return None
        return IndivisibleReduction(
            **common, loop=inner.name, parts=inner_extent, action="rfactor", factor_axis=axis
        )
    return None


def _rfactor_applies(
    sch: Any, names: NameTable, loop: str, parts: int | None, factor_axis: int
) -> bool:
    """Whether TVM accepts the rfactor over ``loop`` (after its guarded split into ``parts``, if
    given), tried on a copy: it refuses a reduction that shares its loops with another block, as
    after a ``compute_at`` of its producer."""
    trial = sch.copy()
    try:
        rv = names.loop_rv(trial, loop)
        if parts is not None:
            rv = trial.split(rv, [None, parts], preserve_unit_iters=True)[-1]
        trial.rfactor(rv, factor_axis)
    except Exception:  # TVM's refusal: no fact, no step
        return False
    return True


def cpu_facts(cpu: Any) -> CpuFacts:
    """The CPU numbers the policy needs, from a :class:`~tvm_llm_sched.hardware.CpuInfo`."""
    return CpuFacts(
        lanes=cpu.fp32_lanes,
        cores=cpu.cores,
        simd_bits=cpu.simd_bits,
        l1d_kib=cpu.l1d_kib,
        l2_kib=cpu.l2_kib,
        l3_kib=cpu.l3_kib,
    )


def state_facts(state: Any, cpu: Any) -> Facts:
    """The facts of a step-language state for a CPU (a :class:`~tvm_llm_sched.hardware.CpuInfo`).

    Parameters
    ----------
    state : tvm_llm_sched.steps.State
        The state.
    cpu : CpuInfo
        The target's CPU.
    """
    return Facts(
        decisions=decision_facts(state.schedule, state.mod),
        cpu=cpu_facts(cpu),
        # The state's name table, built once, serves both (it is what steps are named by).
        serial_reductions=serial_reduction_facts(state.schedule, cpu.cores, state.names),
        strided_reads=strided_read_facts(state.schedule, cpu.simd_bits or 128, state.names),
        indivisible_reductions=indivisible_reduction_facts(
            state.schedule, cpu.simd_bits or 128, state.names
        ),
    )
