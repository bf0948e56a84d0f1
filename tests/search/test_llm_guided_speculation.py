"""A remote proposer is asked in the background while a batch is measured. How long it takes
must not change what the search chooses: the same seed and the same measurements give the same
candidates whether the model answers at once or slowly (whole-run replay depends on it).

The schedules are real; their latencies are a fixed function of the program here, because real
timings differ between two runs and the search ranks by them."""

from __future__ import annotations

import threading
import time

import pytest
import tvm_ffi

from tvm_llm_sched.proposers import ExpertPolicy, Proposer
from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.search.engine import SearchEngine
from tvm_llm_sched.testing import HandTuner
from tvm_llm_sched.testing import strategy_conformance as kit

pytestmark = pytest.mark.tuning


class _RemoteLike(Proposer):
    """The expert policy's answers, after ``delay`` seconds, presented as a remote model (so the
    search queries it in the background)."""

    name = "remote-like"
    needs_menu = False
    local = False

    def __init__(self, delay: float):
        self.inner = ExpertPolicy()
        self.delay = delay
        self.calls = 0
        self.answering_in_background = False

    def propose(self, situation, *, k=4, validate=None):
        self.calls += 1
        background = threading.current_thread() is not threading.main_thread()
        self.answering_in_background = background
        try:
            time.sleep(self.delay)
            return self.inner.propose(situation, k=k, validate=validate)
        finally:
            self.answering_in_background = False


def _fixed_latencies(candidates, target, *, fail=(), seed=0):
    from tvm.s_tir.meta_schedule.runner import RunnerResult

    return [
        RunnerResult([1e-5 * (1 + tvm_ffi.structural_hash(c.sch.mod) % 97)], None)
        for c in candidates
    ]


def _chosen(delay: float, monkeypatch) -> tuple[list[int], int]:
    proposer = _RemoteLike(delay)
    seed = SearchEngine._seed

    def checked_seed(engine):
        # The chains the background thread follows draw from the same RNG.
        on_main = threading.current_thread() is threading.main_thread()
        assert not (on_main and proposer.answering_in_background), (
            "the search drew from its RNG while the background expansion was running"
        )
        return seed(engine)

    monkeypatch.setattr(SearchEngine, "_seed", checked_seed)
    tuner = HandTuner(
        LLMGuidedSearch(proposer, seed=5),
        kit.conformance_workload("GMM:0").mod,
        cost_model="random",
    )
    tuner.pre_tuning(12, 4)
    tuner.run()
    tuner.post_tuning()
    return [tvm_ffi.structural_hash(c.sch.mod) for c in tuner.candidates], proposer.calls


def test_a_slow_model_does_not_change_the_candidates(monkeypatch):
    monkeypatch.setattr(kit, "measure_in_process", _fixed_latencies)
    fast, fast_calls = _chosen(0.0, monkeypatch)
    # Slower than measuring a batch of GMM:0 candidates: the background expansion is still
    # running when the next iteration starts.
    slow, slow_calls = _chosen(0.4, monkeypatch)
    assert len(fast) == 12 and fast_calls > 0
    assert slow_calls == fast_calls
    assert slow == fast
