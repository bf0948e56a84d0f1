"""LLMGuidedSearch with proposers that fail, reject steps, or answer over HTTP; and resume state.

Runs through ``ms.tune_tir`` where the brief is about a whole run (records on disk), and through
:class:`~tvm_llm_sched.testing.HandTuner` (real candidates compiled and timed in-process) where
several iterations are needed cheaply.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from tvm_llm_sched.search import LLMGuidedSearch, SearchConfig
from tvm_llm_sched.serving import PolicyServer
from tvm_llm_sched.testing import Fault, FaultServer, HandTuner, free_port
from tvm_llm_sched.testing import strategy_conformance as kit

pytestmark = pytest.mark.tuning

SEARCH_LOGGER = "tvm_llm_sched.search"
ILLEGAL_STEP = "split(l99, [2, 2])"


@pytest.fixture(scope="module")
def mod():
    return kit.conformance_workload("GMM:0").mod


def _search_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == SEARCH_LOGGER and r.levelno >= logging.WARNING
    ]


def _hand_run(strategy, mod, *, max_trials: int, per_iter: int, **kwargs) -> HandTuner:
    tuner = HandTuner(strategy, mod, cost_model="random", **kwargs)
    tuner.pre_tuning(max_trials, per_iter)
    tuner.run()
    tuner.post_tuning()
    kit.check_hand_run(tuner, mod, max_trials=max_trials, num_trials_per_iter=per_iter)
    return tuner


@pytest.fixture(params=["raises", "error-proposal", "http-500", "connection-refused"])
def failing(request, raising_proposer, error_proposer, make_llm_proposer):
    """``(proposer, text its fallback warning must contain, server or None)``."""
    if request.param == "raises":
        yield raising_proposer, "proposer exploded", None
    elif request.param == "error-proposal":
        yield error_proposer, "model unavailable", None
    elif request.param == "http-500":
        with FaultServer([Fault.status(500)]) as server:
            yield make_llm_proposer(server.base_url), "500", server
    else:
        yield make_llm_proposer(f"http://127.0.0.1:{free_port()}/v1"), "", None


def test_failing_proposer_falls_back_and_completes(failing, mod, tmp_path, caplog):
    proposer, detail, server = failing
    caplog.set_level(logging.INFO, logger=SEARCH_LOGGER)
    kit.tune(
        mod,
        tmp_path,
        LLMGuidedSearch(proposer),
        max_trials=4,
        num_trials_per_iter=4,
        cost_model="random",
    )
    kit.check_work_dir(tmp_path, mod, expected=4)
    warnings = _search_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert f"proposer {proposer.name} failed" in warnings[0] and detail in warnings[0]
    if server is not None:
        assert server.request_count >= 1


def test_a_situation_that_cannot_be_built_falls_back_like_a_failing_proposer(
    mod, monkeypatch, caplog
):
    """Facts are read from TVM objects of whatever program a user tunes; one that cannot be read
    must cost the proposer's call, not the run."""
    from tvm_llm_sched.search import facts

    def unreadable(*args, **kwargs):
        raise TypeError("symbolic extent")

    monkeypatch.setattr(facts, "strided_read_facts", unreadable)
    caplog.set_level(logging.INFO, logger=SEARCH_LOGGER)
    _hand_run(LLMGuidedSearch(), mod, max_trials=6, per_iter=3)
    (warning,) = _search_warnings(caplog)
    assert "proposer expert failed (TypeError: symbolic extent)" in warning


@pytest.mark.parametrize("which", ["raising_proposer", "error_proposer"])
def test_failing_proposer_is_asked_every_iteration_but_warns_once(which, request, mod, caplog):
    proposer = request.getfixturevalue(which)
    caplog.set_level(logging.INFO, logger=SEARCH_LOGGER)
    _hand_run(LLMGuidedSearch(proposer), mod, max_trials=9, per_iter=3)
    assert proposer.calls >= 3  # it may recover, so it is asked again each iteration
    assert len(_search_warnings(caplog)) == 1, _search_warnings(caplog)


@pytest.mark.parametrize("validate_first", [True, False], ids=["validated", "unvalidated"])
def test_illegal_step_is_rejected_with_its_reason(validate_first, make_spy, mod, caplog):
    """A proposer putting ``split(l99, [2, 2])`` first: logged with the reason, shown to the
    proposer, and the legal steps of the same answers are still measured. ``unvalidated``: a
    proposer that ignores the ``validate`` callback (third-party code breaking the contract)."""
    caplog.set_level(logging.INFO, logger=SEARCH_LOGGER)
    spy = make_spy(first=ILLEGAL_STEP, validate_first=validate_first)
    tuner = _hand_run(LLMGuidedSearch(spy), mod, max_trials=8, per_iter=4)
    logged = [r.getMessage() for r in caplog.records if r.name == SEARCH_LOGGER]
    assert any(m.startswith(f"rejected step {ILLEGAL_STEP}: unknown loop 'l99'") for m in logged), (
        logged
    )
    assert not _search_warnings(caplog)
    fed_back = [r for s in spy.situations for r in s.rejections if r.step == ILLEGAL_STEP]
    assert fed_back and "unknown loop 'l99'" in fed_back[0].reason
    assert spy.measured([c.sch for c in tuner.candidates], mod), "no proposer step was measured"


def test_proposer_served_over_http(make_spy, make_llm_proposer, mod, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=SEARCH_LOGGER)
    served = make_spy()  # the expert policy, on the server side of the HTTP exchange
    with PolicyServer(served, model="expert-policy") as server:
        proposer = make_llm_proposer(server.base_url)
        kit.tune(mod, tmp_path, LLMGuidedSearch(proposer), max_trials=8, num_trials_per_iter=8)
        requests = server.request_count
    assert requests >= 1 and served.steps
    records = kit.check_work_dir(tmp_path, mod, expected=8)
    assert served.measured([kit.replay_record(r, mod) for r in records], mod)
    assert not _search_warnings(caplog)


def test_remote_proposer_over_several_iterations(make_spy, make_llm_proposer, mod, caplog):
    """Remote proposers are queried while the previous batch is measured (speculation): three
    iterations through the policy server stay complete, duplicate-free and warning-free."""
    caplog.set_level(logging.INFO, logger=SEARCH_LOGGER)
    served = make_spy()
    with PolicyServer(served, model="expert-policy") as server:
        tuner = _hand_run(
            LLMGuidedSearch(make_llm_proposer(server.base_url)), mod, max_trials=9, per_iter=3
        )
    assert any(s.state_latency_us is not None for s in served.situations)
    assert served.measured([c.sch for c in tuner.candidates], mod)
    assert not _search_warnings(caplog)


def test_a_local_model_is_never_asked_while_candidates_are_measured(
    make_spy, make_llm_proposer, mod, monkeypatch
):
    """A model on this machine (a loopback endpoint) would take the CPU the runner times on:
    it is asked only between batches. A remote one is asked while a batch is measured."""
    measuring = threading.Event()
    asked_while_measuring: list[bool] = []
    measure = kit.measure_in_process

    def slow_measure(*args, **kwargs):
        measuring.set()
        try:
            time.sleep(0.3)  # long enough for a speculative call to arrive
            return measure(*args, **kwargs)
        finally:
            measuring.clear()

    monkeypatch.setattr(kit, "measure_in_process", slow_measure)
    served = make_spy()
    propose = served.propose

    def watched(situation, **kwargs):
        asked_while_measuring.append(measuring.is_set())
        return propose(situation, **kwargs)

    served.propose = watched
    with PolicyServer(served, model="expert-policy") as server:
        for local in (None, False):  # None: detected from the 127.0.0.1 URL
            asked_while_measuring.clear()
            proposer = make_llm_proposer(server.base_url, local=local)
            assert proposer.local is (local is None)
            _hand_run(LLMGuidedSearch(proposer), mod, max_trials=9, per_iter=3)
            assert asked_while_measuring
            assert any(asked_while_measuring) is (local is False)


def test_resume_remembers_every_measured_record(mod):
    """Records beyond the frontier (top ``frontier_size``) are measured too: a resumed search
    must know all of them, not only the best few."""
    cheap = SearchConfig(proposer_calls_per_iter=0, mutations_per_iter=8, random_per_iter=16)
    first = _hand_run(LLMGuidedSearch(config=cheap), mod, max_trials=12, per_iter=4)
    assert len(first.candidates) > cheap.frontier_size
    resumed = LLMGuidedSearch(config=cheap)
    HandTuner(resumed, mod, database=first.database).pre_tuning(4, 4)
    seen = resumed.engine.seen
    keys = [_signed64(kit.schedule_key(c.sch)) for c in first.candidates]
    missing = [k for k in keys if k not in seen]
    assert not missing, f"{len(missing)} of {len(keys)} measured schedules would be measured again"


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value
