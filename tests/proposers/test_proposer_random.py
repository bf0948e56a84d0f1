"""The random proposer: the control every proposer is measured against."""

from __future__ import annotations

from tvm_llm_sched.proposers import RandomProposer, create
from tvm_llm_sched.search import SearchConfig


def test_it_picks_distinct_legal_menu_steps_reproducibly(situation, validate):
    proposal = RandomProposer(seed=1).propose(situation, k=4, validate=validate)
    picked = [s.step for s in proposal.steps]
    assert len(picked) == 4 and len(set(picked)) == 4
    assert set(picked) <= set(situation.menu)
    again = RandomProposer(seed=1).propose(situation, k=4, validate=validate)
    assert [s.step for s in again.steps] == picked
    other = RandomProposer(seed=2).propose(situation, k=len(situation.menu))
    assert sorted(map(str, (s.step for s in other.steps))) == sorted(map(str, situation.menu))


def test_the_seed_changes_the_order(situation):
    orders = {
        tuple(s.step.to_text() for s in RandomProposer(seed=seed).propose(situation, k=6).steps)
        for seed in range(5)
    }
    assert len(orders) > 1


def test_it_has_the_expert_policys_call_budget():
    assert create("random").name == "random"
    assert SearchConfig.for_proposer(create("random")) == SearchConfig.for_proposer(
        create("expert")
    )
