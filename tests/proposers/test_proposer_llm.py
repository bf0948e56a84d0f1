"""LLMProposer against real local servers: retries, clean rejections, one repair turn, never raises.

Every test runs with DEBUG logging captured and ends by checking the fake API key is nowhere in it.
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from tvm_llm_sched.llm import Budget, ChatBackend, ChatReply
from tvm_llm_sched.proposers import LLMProposer, LLMProposerConfig, Rejection, Situation
from tvm_llm_sched.proposers.facts import CpuFacts, Facts
from tvm_llm_sched.steps import Step
from tvm_llm_sched.testing import Fault, FaultServer, OpenAICompatServer, free_port


@pytest.fixture(autouse=True)
def _key_never_logged(caplog, secret):
    caplog.set_level(logging.DEBUG)  # ours, httpx and httpcore
    yield
    logged = caplog.text + "".join(repr(r.args) + str(r.exc_info) for r in caplog.records)
    assert secret not in logged


def _steps(proposal) -> list[str]:
    return [s.step.to_text() for s in proposal.steps]


def _last_user(request_body) -> str:
    return [m for m in request_body["messages"] if m["role"] == "user"][-1]["content"]


def test_500_then_success(make_proposer, situation, validate, answer):
    script = [
        Fault.status(500),
        Fault.ok(answer("parallel(l1)", think="cores"), completion_tokens=7),
    ]
    with FaultServer(script) as server:
        proposal = make_proposer(server.base_url).propose(situation, k=2, validate=validate)
    assert server.request_count == 2
    assert _steps(proposal) == ["parallel(l1)"] and proposal.error is None
    assert proposal.reasoning == "cores" and proposal.usage_tokens == 17
    assert proposal.steps[0].rationale == "why"


def test_429_retry_after_is_waited_for(make_proposer, situation, validate, answer):
    script = [Fault.status(429, retry_after=0.3), Fault.ok(answer("parallel(l1)"))]
    with FaultServer(script) as server:
        start = time.monotonic()
        proposal = make_proposer(server.base_url).propose(situation, validate=validate)
        waited = time.monotonic() - start
    assert _steps(proposal) == ["parallel(l1)"] and 0.3 <= waited < 2.0


def test_connection_refused_gives_an_error_not_an_exception(make_proposer, situation, caplog):
    proposal = make_proposer(f"http://127.0.0.1:{free_port()}/v1").propose(situation)
    assert proposal.steps == () and "ConnectError" in proposal.error
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 2  # three attempts, then the fallback
    # The failure travels as data: the proposer logs it at INFO; the search warns (below).
    failed = [r for r in caplog.records if "could not propose" in r.getMessage()]
    assert [(r.name, r.levelno) for r in failed] == [("tvm_llm_sched.proposers", logging.INFO)]


def test_fallback_warns_once_then_logs_at_info(make_proposer, state, caplog):
    """A failing endpoint warns once per run: the search (StepChains) owns the warning, the
    proposer only returns the error."""
    from tvm_llm_sched.search.chain import StepChains
    from tvm_llm_sched.search.situation import SituationBuilder

    proposer = make_proposer(f"http://127.0.0.1:{free_port()}/v1")
    chains = StepChains(proposer, SituationBuilder(workload="GMM:0", menu_limit=0))
    for _ in range(3):
        proposal = chains.ask(state, k=2)
        assert proposal.error and "ConnectError" in proposal.error and proposal.steps == ()
    fallback = [r for r in caplog.records if "the search uses mutation" in r.getMessage()]
    assert [r.levelno for r in fallback] == [logging.WARNING, logging.INFO, logging.INFO]
    assert all(r.name == "tvm_llm_sched.search" for r in fallback)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r for r in warnings if "retrying in" not in r.getMessage()] == fallback[:1]
    proposer_logs = [r for r in caplog.records if r.name == "tvm_llm_sched.proposers"]
    assert proposer_logs and all(r.levelno == logging.INFO for r in proposer_logs)


def test_read_timeout(make_proposer, situation):
    with FaultServer([Fault.delay(3.0)]) as server:
        start = time.monotonic()
        proposal = make_proposer(server.base_url, read_timeout=0.2).propose(situation)
        elapsed = time.monotonic() - start
    assert "ReadTimeout" in proposal.error and server.request_count == 3 and elapsed < 2.5


def test_malformed_json_body(make_proposer, situation):
    with FaultServer([Fault.malformed_json()]) as server:
        proposal = make_proposer(server.base_url).propose(situation)
    assert "not JSON" in proposal.error and proposal.steps == ()
    assert server.request_count == 1  # an unparsable body is not retried


def test_empty_choices(make_proposer, situation):
    with FaultServer([Fault.empty_choices()]) as server:
        proposal = make_proposer(server.base_url).propose(situation)
    assert "choices" in proposal.error and proposal.steps == ()


def test_unauthorized_is_not_retried_and_the_echoed_key_is_redacted(make_proposer, situation):
    with FaultServer([Fault.status(401, echo_auth=True, message="bad key")]) as server:
        proposal = make_proposer(server.base_url).propose(situation)
    assert server.request_count == 1
    assert "HTTP 401" in proposal.error and "Bearer ***" in proposal.error


def test_no_answer_gets_one_repair_turn_then_an_error(make_proposer, situation, caplog):
    with FaultServer([Fault.ok("I would parallelize the outer loop.")]) as server:
        proposal = make_proposer(server.base_url).propose(situation)
    assert server.request_count == 2  # the first call and one repair turn
    assert proposal.steps == () and "no <answer>" in proposal.error
    assert [r.step for r in proposal.rejections] == ["<reply>", "<reply>"]
    repair = server.requests[1]["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert repair[2]["content"] == "I would parallelize the outer loop."
    assert "no <answer> in the reply" in repair[3]["content"]
    assert any(
        r.levelno == logging.INFO and r.getMessage().startswith("rejected <reply>: no <answer>")
        for r in caplog.records
    )


def test_hallucinated_site_is_repaired(make_proposer, situation, validate, answer, caplog):
    script = [Fault.ok(answer("split(l99, [2, 2])")), Fault.ok(answer("split(l1, [8, 16])"))]
    with FaultServer(script) as server:
        proposal = make_proposer(server.base_url).propose(situation, validate=validate)
    assert _steps(proposal) == ["split(l1, [8, 16])"] and proposal.error is None
    [rejection] = proposal.rejections
    assert rejection.step == "split(l99, [2, 2])"
    assert rejection.reason == "unknown loop 'l99'; loops are l0, l1, l2, l3"
    assert rejection.reason in _last_user(server.requests[1])
    assert proposal.usage_tokens == 30  # both calls are paid for
    assert any(
        r.getMessage() == f"rejected split(l99, [2, 2]): {rejection.reason}" for r in caplog.records
    )


def test_hallucination_after_repair_ends_in_rejections(make_proposer, situation, validate, answer):
    with FaultServer([Fault.ok(answer("split(l99, [2, 2])", "fuse(l7, l8)"))]) as server:
        proposal = make_proposer(server.base_url).propose(situation, validate=validate)
    assert server.request_count == 2
    assert proposal.steps == () and proposal.error is None  # answered, but nothing applies
    assert [r.step for r in proposal.rejections] == ["split(l99, [2, 2])", "fuse(l7, l8)"] * 2


def test_wrong_factors_are_rejected_and_good_steps_kept(make_proposer, situation, validate, answer):
    reply = answer("split(l1, [3, 5])", "parallel(l1)", "split(l2, [8, 16])")
    with FaultServer([Fault.ok(reply)]) as server:
        proposal = make_proposer(server.base_url).propose(situation, validate=validate)
    assert server.request_count == 1  # something was usable: no repair
    assert _steps(proposal) == ["parallel(l1)", "split(l2, [8, 16])"]
    [rejection] = proposal.rejections
    assert "multiply to 15, not 128" in rejection.reason


def test_at_most_k_steps_and_no_needless_validation(make_proposer, situation, answer):
    checked: list[str] = []

    def validate(step: Step) -> Rejection | None:
        checked.append(step.to_text())
        return None

    reply = answer("parallel(l1)", "split(l2, [8, 16])", "unroll(l0)", "fuse(l1, l2)")
    with FaultServer([Fault.ok(reply)]) as server:
        proposal = make_proposer(server.base_url).propose(situation, k=2, validate=validate)
    assert _steps(proposal) == checked == ["parallel(l1)", "split(l2, [8, 16])"]


def test_a_raising_validator_rejects_instead_of_raising(make_proposer, situation, answer):
    def validate(step: Step) -> Rejection | None:
        raise RuntimeError("validator bug")

    with FaultServer([Fault.ok(answer("parallel(l1)"))]) as server:
        proposal = make_proposer(server.base_url).propose(situation, validate=validate)
    assert proposal.steps == ()
    assert proposal.rejections[0].reason == "validator failed: RuntimeError: validator bug"


@pytest.mark.parametrize("chunked", [False, True])
def test_2mb_reply_is_refused_by_the_client(make_proposer, situation, chunked):
    with FaultServer([Fault.huge(2_000_000, chunked=chunked)]) as server:
        proposal = make_proposer(server.base_url).propose(situation)
    assert "over the 1048576-byte limit" in proposal.error and proposal.steps == ()


def test_2mb_reply_is_refused_by_the_parser(make_proposer, situation):
    with FaultServer([Fault.huge(2_000_000)]) as server:
        proposer = make_proposer(server.base_url, max_reply_bytes=4_000_000)
        proposal = proposer.propose(situation)
    assert "character limit" in proposal.error and server.request_count == 2
    echoed = server.requests[1]["messages"][2]["content"]
    assert len(echoed) <= 4000  # the repair turn does not send the 2 MB back


def test_budget_exhausted_during_repair(make_proposer, situation):
    with FaultServer([Fault.ok("no idea")]) as server:
        proposer = make_proposer(server.base_url, budget=Budget(max_calls=1))
        proposal = proposer.propose(situation)
        again = proposer.propose(situation)
    assert server.request_count == 1
    assert "call budget exhausted" in proposal.error
    assert [r.reason for r in proposal.rejections][0].startswith("no <answer>")
    assert "call budget exhausted" in again.error and again.rejections == ()


def test_truncated_reply(make_proposer, situation):
    def respond(messages, request):
        from tvm_llm_sched.testing import chat_completion_body

        body = "<think>l1 is spatial, l3 reduces; tile l2 by"
        return chat_completion_body(body, model="m", prompt_tokens=5, finish_reason="length")

    with OpenAICompatServer(respond) as server:
        proposal = make_proposer(server.base_url).propose(situation)
    assert "truncated at max_tokens" in proposal.error


def test_json_mode_sends_response_format_and_reads_bare_json(make_proposer, situation, validate):
    reply = json.dumps({"think": "lanes", "steps": [{"step": "split(l2, [8, 16])"}]})
    with OpenAICompatServer(lambda messages, request: reply) as server:
        config = LLMProposerConfig(json_mode=True, max_tokens=64, temperature=0.5)
        proposal = make_proposer(server.base_url, config=config).propose(
            situation, validate=validate
        )
    assert _steps(proposal) == ["split(l2, [8, 16])"] and proposal.reasoning == "lanes"
    [request] = server.requests
    assert request["response_format"] == {"type": "json_object"}
    assert request["max_tokens"] == 64 and request["temperature"] == 0.5
    assert '"think"' in request["messages"][0]["content"]


def test_a_broken_backend_never_escapes(situation):
    class Broken(ChatBackend):
        model = "broken"

        def send(self, request):
            raise KeyError("oops")

    proposal = LLMProposer(Broken()).propose(situation)
    assert proposal.error == "KeyError: 'oops'"


def test_unbuildable_prompt_is_an_error(situation):
    class Echo(ChatBackend):
        model = "echo"

        def send(self, request):
            return ChatReply(text="")

    not_json = Facts(cpu=CpuFacts(lanes=object(), cores=1, simd_bits=128))
    bad = Situation(workload="x", ir="", hardware="", facts=not_json)
    assert "cannot build the prompt" in LLMProposer(Echo()).propose(bad).error
    assert "cannot build the prompt" in LLMProposer(Echo()).propose(situation, k=0).error


def test_config_validation():
    with pytest.raises(ValueError, match="repair_turns"):
        LLMProposerConfig(repair_turns=-1)
    with pytest.raises(ValueError, match="max_tokens"):
        LLMProposerConfig(max_tokens=0)
    with pytest.raises(TypeError, match="temperature"):
        LLMProposerConfig(temperature="hot")
    with pytest.raises(TypeError, match="ChatBackend"):
        LLMProposer("http://example.invalid")


def test_repair_turns_zero_means_one_call(make_proposer, situation):
    with FaultServer([Fault.ok("nothing")]) as server:
        config = LLMProposerConfig(repair_turns=0, max_tokens=32)
        proposal = make_proposer(server.base_url, config=config).propose(situation)
    assert server.request_count == 1 and proposal.error


def test_propose_many_runs_concurrently(make_proposer, situation, answer):
    script = [Fault.delay(0.3, then=Fault.ok(answer("parallel(l1)")))]
    with FaultServer(script) as server:
        proposer = make_proposer(server.base_url)
        start = time.monotonic()
        proposals = proposer.propose_many([situation] * 3)
        elapsed = time.monotonic() - start
    assert [_steps(p) for p in proposals] == [["parallel(l1)"]] * 3
    assert server.max_in_flight >= 2 and elapsed < 0.85
