"""A loop nest that reads across the rows it writes (a transpose) is tiled in two dimensions,
beyond MetaSchedule's design space: the facts find it, the expert policy splits the write loop,
then the read loop, then reorders, and the postprocessors parallelize and vectorize the tiles.

MetaSchedule's design space for a block without reduction is one program (the root's parallel and
vectorize annotations, no tiling); on a 512x768 fp32 transpose every strategy measured that one
program (150-176 us on znver5) and stopped.
"""

from __future__ import annotations

import pytest
import tvm
from tvm import te

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.proposers.facts import CpuFacts, Facts, StridedRead
from tvm_llm_sched.search.facts import strided_read_facts
from tvm_llm_sched.search.situation import build_situation

AVX512 = 512


def _mod(shape, index, out_shape=None):
    """``Y[out index] = A[index(out index)]`` (+ ``B`` of the output's layout, when asked)."""
    a = te.placeholder(shape, name="A")
    y = te.compute(out_shape or shape[::-1], lambda *i: a[index(*i)], name="Y")
    return tvm.IRModule({"main": te.create_prim_func([a, y])})


def _transpose(rows=512, cols=768):
    return _mod((rows, cols), lambda i, j: (j, i))


def _state(mod):
    from tvm_llm_sched.steps import State

    (state,) = State.design_spaces(mod, host_target(num_cores=2), rand_state=1)
    return state


def test_facts_walk_a_transpose_through_split_split_reorder_then_nothing():
    state = _state(_transpose())
    (fact,) = strided_read_facts(state.schedule, AVX512)
    assert (fact.block, fact.buffer, fact.action, fact.side, fact.extent) == (
        "Y",
        "A",
        "split",
        "write",
        512,
    )
    state = state.apply(f"split({fact.loop}, [16, 32])")
    (fact,) = strided_read_facts(state.schedule, AVX512)
    assert (fact.action, fact.side, fact.extent) == ("split", "read", 768)
    state = state.apply(f"split({fact.loop}, [12, 64])")
    (fact,) = strided_read_facts(state.schedule, AVX512)
    assert fact.action == "reorder" and len(fact.loops) == 2
    state = state.apply(f"reorder({', '.join(fact.loops)})")
    assert strided_read_facts(state.schedule, AVX512) == ()
    extents = [int(site.node.extent) for site in state.names.loops.values()]
    assert extents == [12, 16, 64, 32]  # read tile just outside the write tile


def test_a_layout_change_needs_only_the_write_split_and_the_reorder():
    # NCHW -> NHWC: the read loop (w, 56) is already a few cache lines long.
    mod = _mod((1, 64, 56, 56), lambda n, h, w, c: (n, c, h, w), out_shape=(1, 56, 56, 64))
    state = _state(mod)
    (fact,) = strided_read_facts(state.schedule, AVX512)
    assert (fact.action, fact.side, fact.extent) == ("split", "write", 64)
    state = state.apply(f"split({fact.loop}, [2, 32])")
    (fact,) = strided_read_facts(state.schedule, AVX512)
    assert fact.action == "reorder"


@pytest.mark.parametrize(
    "mod",
    [
        _mod((256, 384), lambda i, j: (i, j)),  # a copy: both sides contiguous
        _mod((64, 12, 128, 64), lambda b, h, s, d: (b, s, h, d), out_shape=(64, 128, 12, 64)),
        _mod((8, 384), lambda i, j: (i, j), out_shape=(8, 384)),
        _transpose(rows=4, cols=768),  # fewer rows than one vector of output
    ],
    ids=["copy", "attention-permute-keeps-d-innermost", "short-rows", "too-narrow"],
)
def test_nests_that_read_contiguously_or_write_less_than_a_vector_are_left_alone(mod):
    assert strided_read_facts(_state(mod).schedule, AVX512) == ()


@pytest.mark.parametrize("spec", ["GMM:1", "C2D:1", "SFM:1"])
def test_design_spaces_of_the_matrix_have_no_strided_reads(spec):
    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    for state in State.design_spaces(load_workload(spec).mod, host_target(num_cores=2)):
        assert strided_read_facts(state.schedule, AVX512) == ()


def test_the_policy_sizes_tiles_from_the_simd_width_and_the_cache_line():
    fact = StridedRead(block="Y", buffer="A", action="split", side="write", loop="l1", extent=512)
    avx2 = Facts(cpu=CpuFacts(lanes=8, cores=2, simd_bits=256), strided_reads=(fact,))
    assert Facts.from_json(avx2.to_json()) == avx2
    steps = [s.step.to_text() for s in ExpertPolicy._strided_read_steps(_situation(avx2))]
    assert steps == ["split(l1, [32, 16])", "split(l1, [64, 8])"]
    read = StridedRead(block="Y", buffer="A", action="split", side="read", loop="l0", extent=768)
    facts = Facts(cpu=avx2.cpu, strided_reads=(read,))
    steps = [s.step.to_text() for s in ExpertPolicy._strided_read_steps(_situation(facts))]
    assert steps == ["split(l0, [12, 64])", "split(l0, [48, 16])"]
    assert "strided_reads" not in Facts(cpu=avx2.cpu).to_json()  # old situations read as before


def _situation(facts):
    from tvm_llm_sched.proposers import Situation

    return Situation(workload="w", ir="", hardware="", facts=facts)


def test_expert_tiles_a_transpose_and_the_postprocessors_parallelize_and_vectorize():
    from tvm_llm_sched.steps import design_space_context
    from tvm_llm_sched.verify import verify

    target = host_target(num_cores=2)
    mod = _transpose()
    state = _state(mod)
    for expected in ("split", "split", "reorder"):
        situation = build_situation(state, workload="T", target=target)
        step = ExpertPolicy().propose(situation, k=1).steps[0].step
        assert step.kind == expected, step
        state = state.apply(step)
    assert not build_situation(state, workload="T", target=target).facts.strided_reads
    sch = state.schedule.copy()
    ctx = design_space_context(mod, target)
    assert all(post.apply(sch) for post in ctx.space_generator.postprocs)
    script = sch.mod.script()
    assert "T.parallel(" in script and "T.vectorized(" in script
    assert verify(mod, sch, target).ok


@pytest.mark.tuning
def test_tuning_a_transpose_measures_tiled_programs_that_load_back_and_verify(tmp_path):
    from tvm.s_tir import meta_schedule as ms

    from tvm_llm_sched.search import LLMGuidedSearch
    from tvm_llm_sched.testing import strategy_conformance as kit

    target = host_target(num_cores=2)
    mod = _transpose(rows=256, cols=384)
    kit.tune(mod, tmp_path, LLMGuidedSearch(), max_trials=8, num_trials_per_iter=8, target=target)
    records = ms.database.JSONDatabase(work_dir=str(tmp_path)).get_all_tuning_records()
    # the design space alone is one program; the steps add the tiled ones
    assert len(records) > 1
    kit.check_work_dir(tmp_path, mod, expected=len(records), target=target)
    assert any("sch.reorder(" in str(r.trace) for r in records)
