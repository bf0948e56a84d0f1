"""A reduction that one core runs alone is spread over the cores, beyond MetaSchedule's design
space: the facts find it, the expert policy splits its loop per core and rfactors over the parts,
and the postprocessors turn the parts into a parallel loop.

MetaSchedule's AddRFactor puts a full reduction's partial sums in the innermost, vectorized loop;
with nothing outside it to parallelize, every strategy's best NRM:1 program ran on one core
(6.6 us against 4.6-5.0 us for the two-core program).
"""

from __future__ import annotations

import functools

import pytest
import tvm
from tvm import te

from tvm_llm_sched.errors import IllegalStepError
from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.search.facts import serial_reduction_facts
from tvm_llm_sched.search.situation import build_situation

CORES = 2


@functools.cache
def _spaces(spec: str):
    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    mod = load_workload(spec).mod
    return State.design_spaces(mod, host_target(num_cores=CORES), rand_state=1)


def _nrm_variants():
    """NRM:1's three design spaces by AddRFactor variant: ``plain`` (no rfactor), ``inner``
    (partial results in the innermost tile level) and ``outer`` (in the outer level). Their
    order in the design space depends on the target, so they are told apart by the rfactor
    level of their tile decision."""
    from tvm_llm_sched.search.facts import decision_facts

    variants = {}
    for state in _spaces("NRM:1"):
        levels = [
            (f.rfactor_level, f.n)
            for f in decision_facts(state.schedule, state.mod)
            if getattr(f, "rfactor_level", None) is not None
        ]
        if not levels:
            variants["plain"] = state
        else:
            ((level, n),) = levels
            variants["inner" if level == n - 1 else "outer"] = state
    assert set(variants) == {"plain", "inner", "outer"}, variants
    return variants


def test_facts_find_the_one_core_reduction_then_the_split_then_nothing():
    variants = _nrm_variants()
    for state in (variants["plain"], variants["inner"]):
        facts = serial_reduction_facts(state.schedule, CORES)
        assert [f.action for f in facts] == ["split"]
        fact = facts[0]
        split = state.apply(f"split({fact.loop}, [{CORES}, None])")
        assert [(f.action, f.extent) for f in serial_reduction_facts(split.schedule, CORES)] == [
            ("rfactor", CORES)
        ]
        done = split.apply(f"rfactor({fact.loop}, 0)")
        assert serial_reduction_facts(done.schedule, CORES) == ()


def test_a_second_rfactor_block_of_the_same_name_is_refused_and_not_proposed():
    """In AddRFactor's outer variant, C_rf already exists: an rfactor of C would make a second
    C_rf, which MetaSchedule's postprocessors cannot look up (the candidate was lost unmeasured)."""
    outer_rfactor = _nrm_variants()["outer"]
    assert serial_reduction_facts(outer_rfactor.schedule, CORES) == ()
    c_loop = outer_rfactor.names.blocks["C"].loops[-1]
    split = outer_rfactor.apply(f"split({c_loop}, [{CORES}, None])")
    with pytest.raises(IllegalStepError, match="second 'C_rf'"):
        split.apply(f"rfactor({c_loop}, 0)")


@pytest.mark.parametrize("spec", ["GMM:1", "SFM:1", "C1D:1"])
def test_reductions_with_parallel_work_outside_are_left_alone(spec):
    for state in _spaces(spec):
        assert serial_reduction_facts(state.schedule, CORES) == ()
    assert all(serial_reduction_facts(s.schedule, 1) == () for s in _spaces("NRM:1"))


def test_expert_splits_then_rfactors_and_the_postprocessors_parallelize():
    from tvm_llm_sched.steps import design_space_context
    from tvm_llm_sched.workloads import load_workload

    target = host_target(num_cores=CORES)
    state = _nrm_variants()["inner"]  # AddRFactor's innermost variant
    policy = ExpertPolicy()
    for expected in ("split", "rfactor"):
        situation = build_situation(state, workload="NRM:1", target=target)
        step = policy.propose(situation, k=4).steps[0].step
        assert step.to_text().startswith(expected + "("), step
        state = state.apply(step)
    sch = state.schedule.copy()
    ctx = design_space_context(load_workload("NRM:1").mod, target)
    assert all(post.apply(sch) for post in ctx.space_generator.postprocs)
    assert "T.parallel(2," in sch.mod.script()


@pytest.mark.tuning
def test_tuning_records_of_the_two_core_reduction_load_back_and_compile(tmp_path):
    """The steps' records are ordinary MetaSchedule records: the work dir reloads (TVM 0.27 lost
    it when a split followed the design space's root annotations), and compile_tir verifies."""
    from tvm.s_tir import meta_schedule as ms

    from tvm_llm_sched.search import LLMGuidedSearch
    from tvm_llm_sched.testing import strategy_conformance as kit

    target = host_target(num_cores=CORES)
    mod = kit.conformance_workload("NRM:1").mod
    kit.tune(mod, tmp_path, LLMGuidedSearch(), max_trials=8, num_trials_per_iter=8, target=target)
    kit.check_work_dir(tmp_path, mod, expected=8, target=target)
    traces = [
        str(r.trace)
        for r in ms.database.JSONDatabase(work_dir=str(tmp_path)).get_all_tuning_records()
    ]
    assert any(f"factors=[{CORES}, " in t and "rfactor(" in t for t in traces)


def test_a_symbolic_extent_gives_no_serial_reduction_and_no_error():
    n = tvm.tirx.Var("n", "int64")
    a = te.placeholder((n,), name="A")
    k = te.reduce_axis((0, n), "k")
    c = te.compute((), lambda: te.sum(a[k] * a[k], axis=k), name="C")
    from tvm_llm_sched.steps import State

    state = State.initial(tvm.IRModule({"main": te.create_prim_func([a, c])}))
    assert serial_reduction_facts(state.schedule, CORES) == ()
