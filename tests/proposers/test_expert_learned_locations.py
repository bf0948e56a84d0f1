"""The expert policy learns valid compute locations from rejections, per decision kind.

Rejections are shared by every state of a task, but decision names (d0, d1, ...) are numbered per
design space: a location list learned for a compute-location decision of one space must not be
applied to a tile decision of the same name in another (it once raised ``unhashable type``, which
turned the proposer off for the whole softmax benchmark run).
"""

from __future__ import annotations

import dataclasses
import functools

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.proposers import ExpertPolicy, Rejection
from tvm_llm_sched.search.chain import validator_for
from tvm_llm_sched.search.situation import build_situation


@functools.cache
def _softmax_spaces():
    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    return State.design_spaces(load_workload("SFM:0").mod, host_target(), rand_state=1)


def _situation_with_rejection(state, name: str):
    situation = build_situation(state, workload="SFM:0", target=host_target(), menu_limit=0)
    reason = f"set_compute_location({name}, 9): valid locations: -2 (inline), -1 (root), 0 (l0)"
    return dataclasses.replace(
        situation, rejections=(Rejection(step=f"set_compute_location({name}, 9)", reason=reason),)
    )


def _decisions(state):
    situation = build_situation(state, workload="SFM:0", target=host_target(), menu_limit=0)
    return {d.name: d for d in situation.facts.decisions}


def _propose_after_rejection(kind: str, *, k: int):
    """The first softmax state with a decision of ``kind``, that decision's name, and the
    policy's proposal after a rejection that lists valid locations for that name."""
    state, name = next(
        (s, n) for s in _softmax_spaces() for n, d in _decisions(s).items() if d.kind == kind
    )
    situation = _situation_with_rejection(state, name)
    return state, name, ExpertPolicy().propose(situation, k=k, validate=validator_for(state))


def test_learned_locations_of_another_space_do_not_break_a_tile_decision():
    state, name, proposal = _propose_after_rejection("tile", k=3)
    assert proposal.error is None
    assert proposal.steps, "the policy must still propose steps"


def test_learned_locations_are_used_for_a_compute_location_decision():
    state, name, proposal = _propose_after_rejection("compute_location", k=20)
    assert proposal.error is None
    located = [
        int(s.step.to_text().rsplit(",", 1)[1].rstrip(")"))
        for s in proposal.steps
        if s.step.to_text().startswith(f"set_compute_location({name},")
    ]
    # Only the learned locations (or the current value) are proposed for that decision.
    current = _decisions(state)[name].value
    assert set(located) <= {-2, -1, 0, current}
