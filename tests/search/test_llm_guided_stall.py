"""A search whose best stops improving widens: restarts, deeper mutation, more exploration."""

from __future__ import annotations

import pytest
import tvm_ffi

from tvm_llm_sched.search import LLMGuidedSearch, SearchConfig
from tvm_llm_sched.testing import HandTuner
from tvm_llm_sched.testing import strategy_conformance as kit

pytestmark = pytest.mark.tuning


def _stalled_tuner(config: SearchConfig, make_spy):
    """GMM:0 where every candidate after the first batch fails: the best never improves."""
    spy = make_spy()
    strategy = LLMGuidedSearch(spy, config=config, seed=1)
    tuner = HandTuner(
        strategy,
        kit.conformance_workload("GMM:0").mod,
        failures=lambda iteration, index, candidate: iteration >= 1,
        seed=1,
    )
    tuner.pre_tuning(32, 8)
    return strategy, tuner, spy


def _spy_on_engine(engine, calls: list[str]) -> None:
    """Record the engine's sample (with origin) and mutate calls."""
    sample, mutate = engine.sample, engine.mutate

    def spied_sample(count, origin="random"):
        calls.append(f"sample:{origin}")
        return sample(count, origin)

    def spied_mutate(parents, count):
        calls.append("mutate")
        return mutate(parents, count)

    engine.sample, engine.mutate = spied_sample, spied_mutate


def test_two_batches_without_gain_widen_the_next(make_spy):
    config = SearchConfig(ranker_min_samples=4, stall_generations=2)
    strategy, tuner, spy = _stalled_tuner(config, make_spy)
    calls: list[str] = []
    _spy_on_engine(strategy.engine, calls)
    tuner.step()
    assert strategy.stalled_iterations == 0  # the first measurement is a gain
    tuner.step()
    normal = list(calls)
    tuner.step()
    assert strategy.stalled_iterations == 2 and strategy.stalled
    calls.clear()
    asked_before = len(spy.situations)
    tuner.step()
    assert strategy.widened_iterations == 1
    assert spy.situations[asked_before:], "the widened batch asked the proposer nothing"
    # Restarts from fresh samples of the design spaces, and two more mutation generations.
    assert "sample:seed" in calls and calls.count("mutate") == 3, calls
    assert normal.count("mutate") == 2 and normal.count("sample:seed") == 1, normal  # 1st + 2nd
    assert len(tuner.batches[-1]) == 8
    keys = [tvm_ffi.structural_hash(c.sch.mod) for c in tuner.candidates]
    assert len(set(keys)) == len(keys), "a program was measured twice"


def test_patience_zero_never_widens(make_spy):
    strategy, tuner, _ = _stalled_tuner(SearchConfig(stall_patience=0), make_spy)
    for _ in range(4):
        tuner.step()
    assert strategy.stalled_iterations == 3 and not strategy.stalled
    assert strategy.widened_iterations == 0
