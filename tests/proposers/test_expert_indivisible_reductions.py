"""A reduction along contiguous memory whose extent no SIMD vector divides (a prime row length) is
vectorized beyond MetaSchedule's design space: the facts find it, the expert policy splits its
loop into whole vectors with the last iteration guarded, then rfactors over the inner loop, and
the postprocessors vectorize the partial sums.

MetaSchedule's rfactor takes perfect tiles only, so for a prime extent its partial sums stay
scalar: the mean of 333 rows of 1777 fp32 ran 163 us at best in 64 trials of any strategy on
znver5, 22 us with these two steps (re-timed).
"""

from __future__ import annotations

import re

import pytest
import tvm
from tvm import te

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.proposers.facts import CpuFacts, Facts, IndivisibleReduction
from tvm_llm_sched.search.facts import indivisible_reduction_facts
from tvm_llm_sched.search.situation import build_situation
from tvm_llm_sched.testing.programs import argmax, dot, layer_norm, matmul, row_mean

AVX512, AVX2 = 512, 256


def _states(mod):
    from tvm_llm_sched.steps import State

    return State.design_spaces(mod, host_target(num_cores=2), rand_state=1)


def _facts(mod, bits=AVX512):
    return [f for state in _states(mod) for f in indivisible_reduction_facts(state.schedule, bits)]


def _column_sum(rows, cols):
    """A sum down the columns: the reduction walks the input across rows."""
    a = te.placeholder((rows, cols), name="A")
    k = te.reduce_axis((0, rows), "k")
    y = te.compute((cols,), lambda j: te.sum(a[k, j], axis=k), name="Y")
    return tvm.IRModule({"main": te.create_prim_func([a, y])})


def test_facts_walk_a_prime_row_mean_through_split_then_rfactor_then_nothing():
    (state,) = [s for s in _states(row_mean(8, 389)) if "S_rf" not in s.names.blocks]
    (fact,) = indivisible_reduction_facts(state.schedule, AVX512)
    # four 16-lane vectors of partials; 389 leaves 6 whole chunks and a guarded tail
    assert (fact.block, fact.action, fact.extent, fact.parts) == ("S", "split", 389, 64)
    state = state.apply(f"split({fact.loop}, [None, {fact.parts}])")
    assert "T.where(" in state.scheduled_mod.script()
    (fact,) = indivisible_reduction_facts(state.schedule, AVX512)
    assert (fact.action, fact.parts, fact.factor_axis) == ("rfactor", 64, 1)
    state = state.apply(f"rfactor({fact.loop}, {fact.factor_axis})")
    assert set(state.names.blocks) >= {"S", "S_rf"}
    assert indivisible_reduction_facts(state.schedule, AVX512) == ()


@pytest.mark.parametrize(
    "bits, extent, parts",
    [(AVX512, 389, 64), (AVX2, 389, 32), (AVX512, 97, 32), (AVX512, 67, 32), (128, 1777, 16)],
)
def test_parts_are_whole_vectors_with_at_least_two_outer_iterations(bits, extent, parts):
    (fact,) = _facts(row_mean(4, extent), bits)
    assert fact.parts == parts


@pytest.mark.parametrize(
    "mod",
    [
        row_mean(8, 1024),  # 64 divides it: the design space's rfactor fills vectors
        row_mean(8, 1000),  # 40 and 50 divide it
        row_mean(8, 23),  # one perfect tile: 23 partials, more than a vector
        matmul(97, 131, 113),  # prime k, but the output columns vectorize
        _column_sum(389, 64),  # the reduction walks across rows, not along them
        argmax(8, 389),  # two outputs
    ],
    ids=["1024", "1000", "23", "matmul-prime", "column-sum", "argmax"],
)
def test_reductions_the_design_space_vectorizes_or_that_cannot_be_are_left_alone(mod):
    assert _facts(mod) == []


def _two_row_sums(first_extent):
    """Two independent row sums, the one over ``first_extent`` first, then one over 389."""
    b, a = te.placeholder((16, first_extent), name="B"), te.placeholder((16, 389), name="A")
    kb, k = te.reduce_axis((0, first_extent), "kb"), te.reduce_axis((0, 389), "k")
    t = te.compute((16,), lambda i: te.sum(b[i, kb], axis=kb), name="t")
    s = te.compute((16,), lambda i: te.sum(a[i, k], axis=k), name="s")
    return tvm.IRModule({"main": te.create_prim_func([a, b, t, s])})


def test_a_reduction_after_another_reduction_is_left_alone():
    # TVM 0.27's RewriteReductionBlock raises on a guarded rfactor that follows another reduction
    # block (a variance after its mean, a softmax's sum after its max, or an unrelated one):
    # offering it would waste the proposal on a program never measured
    assert {f.block for f in _facts(layer_norm(8, 389))} == {"mean"}
    assert {f.block for f in _facts(_two_row_sums(100))} == set()


def test_no_fact_where_tvm_refuses_the_rfactor():
    from tvm_llm_sched.steps import State

    a = te.placeholder((16, 389), name="A")
    e = te.compute((16, 389), lambda i, j: a[i, j] * 2.0, name="e")
    k = te.reduce_axis((0, 389), "k")
    s = te.compute((16,), lambda i: te.sum(e[i, k], axis=k), name="s")
    state = State.initial(tvm.IRModule({"main": te.create_prim_func([a, s])}))
    (fact,) = indivisible_reduction_facts(state.schedule, AVX512)
    # the producer computed inside the reduction's loops: TVM refuses the rfactor
    state = state.apply(f"split({fact.loop}, [None, {fact.parts}])")
    state = state.apply(f"compute_at(e, {state.names.blocks['s'].loops[1]})")
    assert indivisible_reduction_facts(state.schedule, AVX512) == ()


def test_a_symbolic_extent_gives_no_fact():
    n = tvm.tirx.Var("n", "int64")
    a = te.placeholder((8, n), name="A")
    k = te.reduce_axis((0, n), "k")
    y = te.compute((8,), lambda i: te.sum(a[i, k], axis=k), name="Y")
    assert _facts(tvm.IRModule({"main": te.create_prim_func([a, y])})) == []


@pytest.mark.parametrize(
    "spec",
    [
        f"{kind}:{index}"
        for kind in ("C1D", "C2D", "C3D", "GMM", "GRP", "DIL", "DEP", "T2D", "CAP", "NRM", "SFM")
        for index in (0, 1)
    ]
    + ["CBR:0", "TBG:0"],
)
def test_design_spaces_of_te_workload_have_no_indivisible_reductions(spec):
    from tvm_llm_sched.workloads import load_workload

    assert _facts(load_workload(spec).mod) == []


def _situation(facts):
    from tvm_llm_sched.proposers import Situation

    return Situation(workload="w", ir="", hardware="", facts=facts)


def test_the_policy_offers_the_width_and_half_of_it_then_the_rfactor():
    cpu = CpuFacts(lanes=16, cores=2, simd_bits=512)
    split = IndivisibleReduction(
        block="S", loop="l1", extent=1777, parts=64, lanes=16, action="split"
    )
    facts = Facts(cpu=cpu, indivisible_reductions=(split,))
    assert Facts.from_json(facts.to_json()) == facts
    steps = ExpertPolicy._indivisible_reduction_steps(_situation(facts))
    assert [s.step.to_text() for s in steps] == ["split(l1, [None, 64])", "split(l1, [None, 32])"]
    narrow = IndivisibleReduction(
        block="S", loop="l1", extent=1777, parts=64, lanes=64, action="split"
    )
    steps = ExpertPolicy._indivisible_reduction_steps(
        _situation(Facts(cpu=cpu, indivisible_reductions=(narrow,)))
    )
    # int8 on AVX-512: 64 lanes, no half vector
    assert [s.step.to_text() for s in steps] == ["split(l1, [None, 64])"]
    rfactor = IndivisibleReduction(
        block="S", loop="l2", extent=1777, parts=64, lanes=16, action="rfactor", factor_axis=1
    )
    facts = Facts(cpu=cpu, indivisible_reductions=(rfactor,))
    steps = ExpertPolicy._indivisible_reduction_steps(_situation(facts))
    assert [s.step.to_text() for s in steps] == ["rfactor(l2, 1)"]
    assert "indivisible_reductions" not in Facts(cpu=cpu).to_json()  # others read as before


@pytest.mark.parametrize(
    "mod, block", [(row_mean(64, 389), "S"), (dot(10007), "C")], ids=["row-mean", "dot"]
)
def test_the_expert_vectorizes_the_partials_and_the_program_verifies(mod, block, expert_walk):
    (state,) = [s for s in _states(mod) if f"{block}_rf" not in s.names.blocks]
    state, sch = expert_walk(mod, state, ("split", "rfactor"))
    target = host_target(num_cores=2)
    assert not build_situation(state, workload="R", target=target).facts.indivisible_reductions
    script = sch.mod.script()
    assert f'T.sblock("{block}_rf_update")' in script and "T.vectorized(" in script


@pytest.mark.tuning
def test_tuning_a_prime_row_mean_measures_rfactored_programs_that_load_back_and_verify(tmp_path):
    from tvm.s_tir import meta_schedule as ms

    from tvm_llm_sched.search import LLMGuidedSearch
    from tvm_llm_sched.testing import strategy_conformance as kit

    target = host_target(num_cores=2)
    mod = row_mean(64, 389)
    kit.tune(mod, tmp_path, LLMGuidedSearch(), max_trials=8, num_trials_per_iter=8, target=target)
    records = ms.database.JSONDatabase(work_dir=str(tmp_path)).get_all_tuning_records()
    kit.check_work_dir(tmp_path, mod, expected=len(records), target=target)
    # the guarded split: whole chunks of 64, 32 or 16 over 389 (7 * 64, 13 * 32 and 25 * 16
    # overshoot it); a record's trace keeps the step's `None` or its resolved outer factor
    guarded = [
        str(r.trace)
        for r in records
        if re.search(r"factors=\[(None, (64|32|16)|7, 64|13, 32|25, 16)\]", str(r.trace))
    ]
    assert any("sch.rfactor(" in trace for trace in guarded), [str(r.trace) for r in records]


def test_the_menu_offers_the_guarded_split_only_where_no_perfect_tile_fills_a_vector():
    from tvm_llm_sched.hardware import detect_cpu
    from tvm_llm_sched.steps import legal_steps

    target = host_target(num_cores=2)
    lanes = detect_cpu(target).fp32_lanes
    (state,) = [s for s in _states(row_mean(8, 389)) if "S_rf" not in s.names.blocks]
    assert f"split(l1, [None, {2 * lanes}])" in [s.to_text() for s in legal_steps(state, target)]
    for state in _states(row_mean(8, 1024)):
        assert "None" not in " ".join(s.to_text() for s in legal_steps(state, target))
