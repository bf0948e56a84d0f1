"""Hand-written programs that bound what any schedule of a workload can reach on this machine.

Two workloads of the tuning benchmark end in near-ties between every strategy. These programs
show why, by timing what a schedule cannot avoid:

- :func:`exp_pass`: softmax evaluates ``exp`` once per element at least, and TVM lowers ``exp``
  for llvm to a scalar libm call (vectorizing it makes it slower). The pass alone, parallel over
  rows, is a floor for any softmax schedule of the same shape.
- :func:`full_reduction_schedules`: hand schedules of a whole-tensor reduction (NRM): partial sums
  in SIMD registers over a range of vector widths and unroll depths, and the reduction split over
  the cores. The best of them is what a tuner can hope for.
"""

from __future__ import annotations

from typing import Any

_COMM_REDUCE = 2  # tvm.tirx.IterVar.CommReduce


def exp_pass(shape: tuple[int, ...], dtype: str = "float32") -> Any:
    """``B = exp(A)`` over ``shape``, outermost loop parallel: one ``exp`` per element."""
    import tvm
    from tvm import te

    a = te.placeholder(shape, dtype=dtype, name="A")
    b = te.compute(shape, lambda *i: te.exp(a(*i)), name="B")
    sch = tvm.s_tir.Schedule(te.create_prim_func([a, b]).with_attr("global_symbol", "main"))
    sch.parallel(sch.get_loops(sch.get_sblock("B"))[0])
    return sch.mod


def _reduction_block(sch: Any) -> Any:
    """The first block of ``main`` with a reduction iterator."""
    for block in sch.get_child_blocks(sch.get_sblock("root")):
        if any(iv.iter_type == _COMM_REDUCE for iv in sch.get(block).iter_vars):
            return block
    raise ValueError("the workload has no reduction block")


def _vector_partials(mod: Any, lanes: int, unroll: int, cores: int) -> Any:
    """The reduction's loops fused, ``lanes`` partial results vectorized; with ``cores`` > 1 the
    outer part of the reduction is also split over the cores."""
    import tvm

    sch = tvm.s_tir.Schedule(mod)
    block = _reduction_block(sch)
    loops = sch.get_loops(block)
    kinds = [iv.iter_type for iv in sch.get(block).iter_vars]
    reduce_loops = [loop for loop, kind in zip(loops, kinds, strict=True) if kind == _COMM_REDUCE]
    fused = sch.fuse(*reduce_loops) if len(reduce_loops) > 1 else reduce_loops[0]
    part, rest, vec = sch.split(fused, [cores, None, lanes])
    sch.reorder(part, vec, rest)
    partial = sch.rfactor(sch.fuse(part, vec), 0)
    outer, run = sch.get_loops(partial)[-2:]
    core, lane = sch.split(outer, [cores, lanes])
    sch.reorder(core, run, lane)
    if cores > 1:
        sch.parallel(core)
    sch.vectorize(lane)
    if unroll:
        sch.annotate(core, "pragma_auto_unroll_max_step", unroll)
        sch.annotate(core, "pragma_unroll_explicit", 1)
    sch.decompose_reduction(partial, run)
    return sch.mod


def full_reduction_schedules(
    mod: Any,
    lanes: tuple[int, ...] = (16, 32, 64, 128),
    unrolls: tuple[int, ...] = (0, 64),
    cores: tuple[int, ...] = (1, 2),
) -> dict[str, Any]:
    """Hand schedules of a workload whose first reduction block reduces every loop it has
    besides unit spatial ones (NRM); keyed ``"<lanes> lanes, unroll <u>, <c> core(s)"``."""
    return {
        f"{n} lanes, unroll {u}, {c} core{'s' if c > 1 else ''}": _vector_partials(mod, n, u, c)
        for c in cores
        for n in lanes
        for u in unrolls
    }
