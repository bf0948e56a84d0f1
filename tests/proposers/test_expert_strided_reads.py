"""A loop nest that reads across the rows it writes (a transpose) is tiled in two dimensions,
beyond MetaSchedule's design space: the facts find it, the expert policy splits the write loop,
then the read loop, then reorders, and the postprocessors parallelize and vectorize the tiles.

MetaSchedule's design space for a block without reduction is one program (the root's parallel and
vectorize annotations, no tiling); on a 512x768 fp32 transpose every strategy measured that one
program (148-152 us re-timed on znver5) and stopped.
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


def _mod(shape, index, out_shape=None, dtype="float32", out_dtype=None):
    """``Y[i] = A[index(i)]`` (cast to ``out_dtype``); ``Y`` has ``out_shape``, by default
    ``shape`` reversed."""
    a = te.placeholder(shape, dtype, name="A")
    y = te.compute(
        out_shape or shape[::-1], lambda *i: a[index(*i)].astype(out_dtype or dtype), name="Y"
    )
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
        # the read loop (768) already sits just outside a 24-wide write loop: a tile already
        _transpose(rows=24, cols=768),
        _transpose(rows=4, cols=768),  # fewer rows than one vector of output
        _transpose(rows=1777, cols=64),  # a prime write extent: no tile divides it
    ],
    ids=["copy", "attention-permute-keeps-d-innermost", "tiled-already", "too-narrow", "prime"],
)
def test_nests_that_read_contiguously_are_tiled_or_cannot_be_tiled_are_left_alone(mod):
    assert strided_read_facts(_state(mod).schedule, AVX512) == ()


def test_a_symbolic_extent_gives_no_fact_and_the_situation_builds():
    n = tvm.tirx.Var("n", "int64")
    mod = _mod((n, 768), lambda i, j: (j, i), out_shape=(768, n))
    state = _state(mod)
    assert strided_read_facts(state.schedule, AVX512) == ()
    assert not build_situation(state, workload="T", target=host_target()).facts.strided_reads


@pytest.mark.parametrize(
    "mod, steps",
    [
        (_transpose(), ["split", "split", "reorder"]),
        # NHWC -> NCHW: the write loop (w, 56) takes a near divisor, 28; c (64) is short already
        (
            _mod((1, 56, 56, 64), lambda n, c, h, w: (n, h, w, c), out_shape=(1, 64, 56, 56)),
            ["split", "reorder"],
        ),
        (_mod((512, 770), lambda i, j: (j, i)), ["split", "split", "reorder"]),
        # mixed dtypes: lanes of the output's dtype, cache lines of the input's
        (_mod((512, 768), lambda i, j: (j, i), out_dtype="int8"), ["split", "split", "reorder"]),
        (
            _mod((512, 768), lambda i, j: (j, i), dtype="float64", out_dtype="int8"),
            ["split", "split", "reorder"],
        ),
        (
            _mod((512, 768), lambda i, j: (j, i), dtype="int8", out_dtype="float32"),
            ["split", "split", "reorder"],
        ),
    ],
    ids=["f32", "nhwc-to-nchw", "770-wide", "f32-to-i8", "f64-to-i8", "i8-to-f32"],
)
def test_the_expert_tiles_in_at_most_three_steps_then_the_fact_is_gone(mod, steps):
    target = host_target(num_cores=2)
    state = _state(mod)
    kinds = []
    while situation := build_situation(state, workload="T", target=target):
        if not situation.facts.strided_reads:
            break
        step = ExpertPolicy._strided_read_steps(situation)[0].step
        kinds.append(step.kind)
        state = state.apply(step)
        assert len(kinds) <= 3, kinds
    assert kinds == steps


@pytest.mark.parametrize("spec", ["GMM:1", "C2D:1", "DEP:0", "SFM:1", "NRM:1", "C1D:1"])
def test_design_spaces_of_the_matrix_have_no_strided_reads(spec):
    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    mod = load_workload(spec).mod
    for rand_state in (1, 2, 3):
        for state in State.design_spaces(mod, host_target(num_cores=2), rand_state=rand_state):
            assert strided_read_facts(state.schedule, AVX512) == ()


def test_the_policy_sizes_tiles_in_units_of_the_fact():
    cpu = CpuFacts(lanes=8, cores=2, simd_bits=256)
    write = StridedRead(
        block="Y", buffer="A", action="split", side="write", loop="l1", extent=512, unit=8
    )
    facts = Facts(cpu=cpu, strided_reads=(write,))
    assert Facts.from_json(facts.to_json()) == facts
    steps = [s.step.to_text() for s in ExpertPolicy._strided_read_steps(_situation(facts))]
    assert steps == ["split(l1, [32, 16])", "split(l1, [64, 8])"]  # two vectors, one
    read = StridedRead(
        block="Y", buffer="A", action="split", side="read", loop="l0", extent=768, unit=16
    )
    facts = Facts(cpu=cpu, strided_reads=(read,))
    steps = [s.step.to_text() for s in ExpertPolicy._strided_read_steps(_situation(facts))]
    assert steps == ["split(l0, [12, 64])", "split(l0, [48, 16])"]  # four lines, one
    assert "strided_reads" not in Facts(cpu=cpu).to_json()  # other situations read as before


def _situation(facts):
    from tvm_llm_sched.proposers import Situation

    return Situation(workload="w", ir="", hardware="", facts=facts)


def test_expert_tiles_a_transpose_and_the_postprocessors_parallelize_and_vectorize(expert_walk):
    mod = _transpose()
    state, sch = expert_walk(mod, _state(mod), ("split", "split", "reorder"))
    target = host_target(num_cores=2)
    assert not build_situation(state, workload="T", target=target).facts.strided_reads
    script = sch.mod.script()
    assert "T.parallel(" in script and "T.vectorized(" in script


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
