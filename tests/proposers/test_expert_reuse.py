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

# A linear layer y = x @ w + b with a 4 MiB weight: larger than the L2 of the CPUs we run on.
_LINEAR = """
# from tvm.script import ir as I
# from tvm.script import tirx as T

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(x: T.Buffer((64, 1024), "float32"), w: T.Buffer((1024, 1024), "float32"),
             b: T.Buffer((1024,), "float32"), y: T.Buffer((64, 1024), "float32")):
        T.func_attr({"tirx.noalias": True})
        acc = T.sblock_alloc_buffer((64, 1024))
        for i, j, k in T.grid(64, 1024, 1024):
            with T.sblock("matmul"):
                vi, vj, vk = T.axis.remap("SSR", [i, j, k])
                with T.init():
                    acc[vi, vj] = T.float32(0.0)
                acc[vi, vj] = acc[vi, vj] + x[vi, vk] * w[vk, vj]
        for i, j in T.grid(64, 1024):
            with T.sblock("bias"):
                vi, vj = T.axis.remap("SS", [i, j])
                y[vi, vj] = acc[vi, vj] + b[vj]
"""
_WEIGHT_BYTES = 1024 * 1024 * 4


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    """The linear layer as a workload file, and its MetaSchedule design spaces."""
    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    path = tmp_path_factory.mktemp("linear") / "linear.py"
    path.write_text(_LINEAR)
    mod = load_workload(str(path)).mod
    return str(path), mod, State.design_spaces(mod, host_target(), rand_state=1)


@functools.cache
def _tiles(schedule, mod) -> dict[str, object]:
    return {f.iter: f for f in decision_facts(schedule, mod) if getattr(f, "iter", None)}


def test_facts_list_the_inputs_each_spatial_loop_reuses(linear):
    _, mod, spaces = linear
    for state in spaces:
        tiles = _tiles(state.schedule, mod)
        assert (tiles["vi"].reused, tiles["vi"].reused_bytes) == (("w",), (_WEIGHT_BYTES,))
        assert (tiles["vj"].reused, tiles["vj"].reused_bytes) == (("x",), (64 * 1024 * 4,))
        assert tiles["vk"].reduction and tiles["vk"].reused == ()


def test_expert_reads_a_weight_larger_than_l2_about_once(linear):
    cpu = detect_cpu(host_target())
    if cpu.l2_kib * 1024 >= _WEIGHT_BYTES:
        pytest.skip(f"this CPU's L2 ({cpu.l2_kib} KiB) holds the whole weight")
    spec, mod, spaces = linear
    for state in spaces:
        states, _ = follow(ExpertPolicy(), state, workload=spec, target=host_target(), depth=6)
        tiles = _tiles((states[-1] if states else state).schedule, mod)
        rows, cols = tiles["vi"].value, tiles["vj"].value
        # Each parallel (level-0) task reads the weight's columns of its column tile; the row
        # loop's level-1 steps read that part again, from L3 when it does not fit half of L2.
        part = _WEIGHT_BYTES // cols[0]
        reads = rows[0] * (rows[1] if part > cpu.l2_kib * 1024 // 2 else 1)
        assert reads <= 2, (rows, cols)
