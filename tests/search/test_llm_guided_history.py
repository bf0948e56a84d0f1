"""What LLMGuidedSearch tells its proposer about the past: best latency and measured outcomes."""

from __future__ import annotations

import pytest

from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.testing import HandTuner
from tvm_llm_sched.testing import strategy_conformance as kit

pytestmark = pytest.mark.tuning


def test_the_proposer_sees_the_measured_history(make_spy):
    """Every proposer candidate of the first two iterations fails; mutation and random
    candidates run. In the third iteration the proposer must be told the best latency measured
    for the workload (whoever found it) and the failures of its own candidates."""
    spy = make_spy()
    mod = kit.conformance_workload("GMM:0").mod
    tuner = HandTuner(
        LLMGuidedSearch(spy),
        mod,
        cost_model="random",
        failures=lambda iteration, index, c: iteration < 2 and bool(spy.measured([c.sch], mod)),
    )
    tuner.pre_tuning(12, 4)
    tuner.step()
    tuner.step()
    asked_before = len(spy.situations)
    tuner.step()
    latest = spy.situations[asked_before:]
    assert latest, "the proposer was not asked in the third iteration"

    failed = [o for s in latest for o in s.recent if o.error]
    assert failed, "failed runs of proposer candidates did not reach the proposer"
    assert kit.INJECTED_FAILURE in failed[0].error and failed[0].latency_us is None

    latencies = [kit.record_latency_us(r) for batch in tuner.results[:2] for r in batch]
    ran = [us for us in latencies if us is not None]
    assert ran, "no mutation or random candidate ran"
    # Situation.best_latency_us: "best latency measured so far for the workload".
    assert [s.best_latency_us for s in latest] == pytest.approx([min(ran)] * len(latest))
