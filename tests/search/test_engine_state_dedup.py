"""The engine skips a proposer state whose step IR it already holds, before replaying it.

Two proposer candidates with the same step IR (here: the same decision edits in two orders) are
one state: the second is skipped before its schedule is even made, within a batch and after the
first was measured. The audit mode still postprocesses the skipped one and counts collisions
(same step IR, different program): there are none here.
"""

from __future__ import annotations

import pytest

from tvm_llm_sched.ir import state_hash
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.search import SearchConfig
from tvm_llm_sched.search.engine import BatchKeys, Candidate, Frontier, SearchEngine
from tvm_llm_sched.steps import State


@pytest.fixture
def engine_of(make_engine):
    """``engine_of(config) -> (engine, state)``: an engine over GMM:0 and one design-space state."""

    def make(config: SearchConfig):
        mod, spaces, engine = make_engine("GMM:0", ExpertPolicy(), rand_state=3, config=config)
        return engine, State.from_schedule(spaces[0], mod)

    return make


def _two_orders(state: State) -> tuple[State, State]:
    """The same two decision edits applied in both orders: one state, two step lists."""
    tiles = [d for d in state.names.decisions if d.kind.name == "SamplePerfectTile"][:2]
    assert len(tiles) == 2
    first = "set_tile(d0, [1, 1, 1, 1])"
    index = state.names.decisions.index(tiles[1])
    extent = 1
    for value in state.schedule.trace.get_decision(tiles[1]):
        extent *= int(value)
    second = f"set_tile(d{index}, [{extent}, 1, 1, 1])"
    a = state.apply(first).apply(second)
    b = state.apply(second).apply(first)
    assert [s.to_text() for s in a.steps] != [s.to_text() for s in b.steps]
    assert a.ir == b.ir
    return a, b


def _candidates(engine: SearchEngine, start: State, states) -> list[Candidate]:
    frontier = Frontier(pre=start.schedule, latency_us=None, state=start)
    return [engine._from_state(s, frontier, s.steps[len(start.steps) :]) for s in states]


def test_a_repeated_state_is_skipped_before_its_schedule_is_made(engine_of):
    engine, start = engine_of(SearchConfig())
    a, b = _two_orders(start)
    first, second = _candidates(engine, start, [a, b])
    assert first.state_key == second.state_key == state_hash(a.ir)
    ready = engine.finalize([first, second], BatchKeys())
    assert ready == [first]
    assert second.pre is None and second.sch is None  # never replayed nor postprocessed
    assert engine.stats.state_duplicates == 1

    engine.mark_measured(ready)
    again = _candidates(engine, start, [b])
    assert engine.finalize(again, BatchKeys()) == []  # measured in an earlier batch
    assert engine.stats.state_duplicates == 2


def test_without_state_dedup_the_structural_hash_still_drops_the_repeat(engine_of):
    engine, start = engine_of(SearchConfig(state_dedup=False))
    a, b = _two_orders(start)
    first, second = _candidates(engine, start, [a, b])
    assert first.state_key is None
    ready = engine.finalize([first, second], BatchKeys())
    assert ready == [first] and second.sch is None and second.pre is not None
    assert engine.stats.state_duplicates == 0


@pytest.mark.parametrize("audit", [False, True])
def test_the_audit_postprocesses_skipped_states_and_counts_collisions(audit, engine_of):
    engine, start = engine_of(SearchConfig(audit_state_dedup=audit))
    a, b = _two_orders(start)
    ready = engine.finalize(_candidates(engine, start, [a, b]), BatchKeys())
    assert len(ready) == 1
    assert engine.stats.state_audited == (1 if audit else 0)
    assert engine.stats.state_collisions == 0
