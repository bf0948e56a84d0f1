"""Every program is measured once per run, even when a proposer step, a mutation and a fresh
sample reach the same program in one iteration (found by a replay that served one program's two
recorded latencies)."""

from __future__ import annotations

import pytest
import tvm_ffi

from tvm_llm_sched.search import LLMGuidedSearch, SearchConfig
from tvm_llm_sched.testing import HandTuner
from tvm_llm_sched.testing import strategy_conformance as kit

pytestmark = pytest.mark.tuning


def test_no_program_is_measured_twice():
    # Many mutations and samples of a small design space: the sources overlap in every batch.
    config = SearchConfig(mutations_per_iter=256, random_per_iter=256, ranker_min_samples=4)
    tuner = HandTuner(
        LLMGuidedSearch(config=config, seed=2), kit.conformance_workload("C1D:0").mod, seed=2
    )
    tuner.pre_tuning(24, 8)
    tuner.run()
    tuner.post_tuning()
    keys = [tvm_ffi.structural_hash(c.sch.mod) for c in tuner.candidates]
    assert len(keys) == 24
    assert len(set(keys)) == len(keys), "a program was measured twice"
