"""Reuse of inputs larger than L2: the facts list, per spatial loop, the inputs it does not index
(a linear layer's weight across the rows), and the expert policy sizes the inner tiles so such an
input is read about once, not once per row tile.

Before, nothing in the policy's prior counted these reads; in an encoder layer tuned end to end, the
best 64x1024x256 linear layer read its 1 MiB weight 16 times from L3 and ran in 688 us, where
programs that read it twice ran in ~300 us (BENCHMARKS.md).
"""

from __future__ import annotations

import functools

import pytest

from tvm_llm_sched.hardware import detect_cpu, host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.search.chain import follow
from tvm_llm_sched.search.facts import decision_facts

_WEIGHT_BYTES = 1024 * 1024 * 4


@pytest.fixture(scope="module")
def linear():
    """A linear layer y = x @ w + b with a 4 MiB weight (larger than the L2 of the CPUs we run
    on), and its MetaSchedule design spaces."""
    import tvm
    from tvm import te

    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    x = te.placeholder((64, 1024), name="x")
    w = te.placeholder((1024, 1024), name="w")
    b = te.placeholder((1024,), name="b")
    k = te.reduce_axis((0, 1024), name="k")
    acc = te.compute((64, 1024), lambda i, j: te.sum(x[i, k] * w[k, j], axis=k), name="matmul")
    y = te.compute((64, 1024), lambda i, j: acc[i, j] + b[j], name="bias")
    mod = load_workload(tvm.IRModule({"main": te.create_prim_func([x, w, b, y])})).mod
    return "linear", mod, State.design_spaces(mod, host_target(), rand_state=1)


@functools.cache
def _tiles(schedule, mod) -> dict[str, object]:
    return {f.iter: f for f in decision_facts(schedule, mod) if getattr(f, "iter", None)}


def test_facts_list_the_inputs_each_spatial_loop_reuses(linear):
    _, mod, spaces = linear
    for state in spaces:
        tiles = _tiles(state.schedule, mod)
        assert (tiles["v_i"].reused, tiles["v_i"].reused_bytes) == (("w",), (_WEIGHT_BYTES,))
        assert (tiles["v_j"].reused, tiles["v_j"].reused_bytes) == (("x",), (64 * 1024 * 4,))
        assert tiles["v_k"].reduction and tiles["v_k"].reused == ()


def test_expert_reads_a_weight_larger_than_l2_about_once(linear):
    cpu = detect_cpu(host_target())
    if cpu.l2_kib * 1024 >= _WEIGHT_BYTES:
        pytest.skip(f"this CPU's L2 ({cpu.l2_kib} KiB) holds the whole weight")
    spec, mod, spaces = linear
    for state in spaces:
        states, _ = follow(ExpertPolicy(), state, workload=spec, target=host_target(), depth=6)
        tiles = _tiles((states[-1] if states else state).schedule, mod)
        rows, cols = tiles["v_i"].value, tiles["v_j"].value
        # Each parallel (level-0) task reads the weight's columns of its column tile; the row
        # loop's level-1 steps read that part again, from L3 when it does not fit half of L2.
        part = _WEIGHT_BYTES // cols[0]
        reads = rows[0] * (rows[1] if part > cpu.l2_kib * 1024 // 2 else 1)
        assert reads <= 2, (rows, cols)
