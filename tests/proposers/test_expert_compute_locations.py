"""Compute locations in the expert policy: an inlined transcendental block (softmax's exp) is moved
out, because every consumer would recompute it; other locations, which the prior cannot judge,
stay as sampled. Moving them at random made SFM:0's first proposals slower than the unscheduled
program."""

from __future__ import annotations

import functools

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.search.chain import follow
from tvm_llm_sched.search.facts import decision_facts


@functools.cache
def _softmax():
    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    mod = load_workload("SFM:0").mod
    return mod, State.design_spaces(mod, host_target(), rand_state=1)


def _locations(state, mod):
    return {f.name: f for f in decision_facts(state.schedule, mod) if f.kind == "compute_location"}


def _follow(state):
    states, _ = follow(ExpertPolicy(), state, workload="SFM:0", target=host_target(), depth=8)
    return states[-1] if states else state


def test_facts_mark_the_exp_block_expensive():
    mod, spaces = _softmax()
    facts = [f for state in spaces for f in _locations(state, mod).values()]
    assert {f.block for f in facts if f.expensive} == {"T_softmax_exp"}
    assert any(not f.expensive for f in facts)


def test_expert_keeps_locations_it_cannot_judge():
    mod, spaces = _softmax()
    for state in spaces:
        before = _locations(state, mod)
        after = _locations(_follow(state), mod)
        for name, fact in before.items():
            if not (fact.expensive and fact.value == -2):
                assert after[name].value == fact.value, (name, fact.block)


def test_expert_moves_an_inlined_exp_out():
    mod, spaces = _softmax()
    inlined = [
        (state, name)
        for state in spaces
        for name, fact in _locations(state, mod).items()
        if fact.expensive and fact.value == -2
    ]
    assert inlined, "no design space samples an inlined exp (seed 1 does in spaces 0-2)"
    for state, name in inlined:
        final = _follow(state)
        assert _locations(final, mod)[name].value != -2, final.steps
