"""Rfactored reductions: the facts say which tile level holds the partial results, and the expert
policy sizes that level for the CPU (enough whole vectors to hide the adder latency when
innermost, every core when outer).

Before, the tile of a fused reduction loop had no iterator facts and was treated as an "other
spatial" axis: the policy chose ``[262144, 1]`` for NRM:1 (no vector, no parallel partials).
"""

from __future__ import annotations

import functools

import pytest

from tvm_llm_sched.hardware import detect_cpu, host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.search.chain import follow
from tvm_llm_sched.search.facts import decision_facts


@functools.cache
def _spaces(spec: str):
    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    mod = load_workload(spec).mod
    return mod, State.design_spaces(mod, host_target(), rand_state=1)


def _rfactor_tiles(spec: str):
    mod, spaces = _spaces(spec)
    for state in spaces:
        for fact in decision_facts(state.schedule, mod):
            if getattr(fact, "rfactor_level", None) is not None:
                yield state, fact


@pytest.mark.parametrize("spec", ["NRM:1", "SFM:1"])
def test_rfactored_tiles_are_reductions_with_a_level(spec):
    facts = [fact for _, fact in _rfactor_tiles(spec)]
    assert {f.rfactor_level for f in facts} == {0, 1}, "both AddRFactor variants"
    assert all(f.reduction and f.block for f in facts)


def test_expert_sizes_the_partial_results_for_the_cpu():
    cpu = detect_cpu(host_target())
    mod, _ = _spaces("NRM:1")
    seen = set()
    for state, fact in _rfactor_tiles("NRM:1"):
        states, _ = follow(ExpertPolicy(), state, workload="NRM:1", target=host_target(), depth=4)
        final = decision_facts((states[-1] if states else state).schedule, mod)
        tile = next(f for f in final if f.name == fact.name).value
        partials = tile[fact.rfactor_level]
        if fact.rfactor_level == len(tile) - 1:
            assert partials % cpu.fp32_lanes == 0, tile  # one vector lane per partial sum
            # As many vector accumulators as fit under max_innermost_factor, up to eight: one
            # vector of partial sums leaves the adders idle most of the time.
            assert partials == min(fact.max_innermost, 8 * cpu.fp32_lanes), tile
        else:
            assert partials % cpu.cores == 0, tile  # every core gets partial sums
        seen.add(fact.rfactor_level)
    assert seen == {0, 1}
