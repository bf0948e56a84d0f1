"""Constrained decoding, the compact prompt profile and model-call statistics, against servers
started on 127.0.0.1 (the real model is exercised in tests/local_model)."""

from __future__ import annotations

import json
import logging

import pytest

from tvm_llm_sched.errors import ProposerError
from tvm_llm_sched.llm import ChatClient, EndpointConfig
from tvm_llm_sched.proposers import LLMProposer, LLMProposerConfig, create
from tvm_llm_sched.proposers.prompts import PROMPT_PROFILES, build_messages, parse_prompt
from tvm_llm_sched.proposers.schema import reply_schema
from tvm_llm_sched.search import SearchConfig
from tvm_llm_sched.testing import OpenAICompatServer

_made: list[LLMProposer] = []


def _proposer(url: str, **config) -> LLMProposer:
    proposer = LLMProposer(
        ChatClient(EndpointConfig(base_url=url, model="m")), config=LLMProposerConfig(**config)
    )
    _made.append(proposer)
    return proposer


@pytest.fixture(autouse=True)
def _close_proposers():
    yield
    while _made:
        _made.pop().close()


def test_schema_admits_exactly_the_menu(situation):
    schema = reply_schema(situation, k=3)
    steps = schema["properties"]["steps"]
    assert steps["items"]["enum"] == [s.to_text() for s in situation.menu]
    assert steps["minItems"] == 1 and steps["maxItems"] == 3
    assert schema["required"] == ["think", "steps"]
    assert reply_schema(situation.__class__(workload="w", ir="", hardware=""), k=3) is None


def test_constrained_request_carries_the_schema_and_every_step_applies(situation, validate):
    """The proposer sends the menu schema; a reply in that shape parses, every step applies, and
    the statistics say so (parse 1.0, apply 1.0, first-menu share)."""
    sent = []
    menu = [s.to_text() for s in situation.menu]

    def respond(messages, request):
        sent.append(request)
        return json.dumps({"think": "x", "steps": [menu[0], menu[2], menu[0]]})

    with OpenAICompatServer(respond) as server:
        proposer = _proposer(server.base_url, constrained=True, profile="compact", k=3)
        proposal = proposer.propose(situation, k=3, validate=validate)
    fmt = sent[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"] == reply_schema(situation, k=3)
    assert [s.step.to_text() for s in proposal.steps] == [menu[0], menu[2]]
    stats = proposer.stats.to_json()
    assert stats == proposer.stats_json()
    assert stats["calls"] == 1 and stats["formatted_calls"] == 1
    assert stats["parse_rate"] == 1.0 and stats["apply_rate"] == 1.0
    assert stats["duplicates"] == 1 and stats["steps_named"] == 2
    assert stats["first_menu_share"] == 1.0
    assert stats["prompt_tokens_per_call"] > 0


def test_endpoint_refusing_schemas_falls_back_once(situation, validate, caplog):
    """A server that refuses ``response_format`` is asked without it from then on (one
    warning); the JSON reply format in the prompt still gets a usable answer."""
    menu = [s.to_text() for s in situation.menu]
    with OpenAICompatServer(
        lambda messages, request: json.dumps({"think": "", "steps": [menu[1]]}),
        supports_json_mode=False,
    ) as server:
        proposer = _proposer(server.base_url, constrained=True, profile="compact")
        with caplog.at_level(logging.WARNING):
            first = proposer.propose(situation, k=1, validate=validate)
            second = proposer.propose(situation, k=1, validate=validate)
    assert (
        [s.step.to_text() for s in first.steps]
        == [menu[1]]
        == [s.step.to_text() for s in second.steps]
    )
    refusals = [r for r in caplog.records if "rejected response_format" in r.getMessage()]
    assert len(refusals) == 1
    assert proposer.stats.formatted_calls == 0 and proposer.stats.calls == 2


def test_unparsable_reply_counts_against_the_parse_rate(situation, validate):
    with OpenAICompatServer(lambda messages, request: "the steps that are not the only") as server:
        proposer = _proposer(server.base_url, repair_turns=1)
        proposal = proposer.propose(situation, k=2, validate=validate)
    assert proposal.error is not None and not proposal.steps
    stats = proposer.stats.to_json()
    assert stats["calls"] == 2 and stats["parsed"] == 0 and stats["parse_rate"] == 0.0
    assert stats["apply_rate"] is None


def test_compact_profile_is_short_stable_and_json(situation):
    full = build_messages(situation, k=3)
    compact = build_messages(situation, k=3, profile=PROMPT_PROFILES["compact"])
    assert len(compact[0]["content"]) * 3 < len(full[0]["content"])
    assert len(compact[1]["content"]) < len(full[1]["content"])
    assert "```situation" not in compact[1]["content"]
    assert '"steps"' in compact[0]["content"]  # a JSON reply format
    other = situation.__class__(**{**vars(situation), "best_latency_us": 1.0})
    again = build_messages(other, k=3, profile=PROMPT_PROFILES["compact"])
    assert again[0] == compact[0]  # one system prompt: a server's prompt cache keeps it
    with pytest.raises(ValueError, match="no situation"):
        parse_prompt(compact)
    assert parse_prompt(full).situation == situation


def test_config_from_environment():
    env = {
        "TVM_LLM_SCHED_PROFILE": "compact",
        "TVM_LLM_SCHED_CONSTRAINED": "1",
        "TVM_LLM_SCHED_MAX_TOKENS": "64",
        "TVM_LLM_SCHED_TEMPERATURE": "0.5",
    }
    config = LLMProposerConfig.from_env(env, k=2)
    assert (
        config.profile,
        config.constrained,
        config.max_tokens,
        config.temperature,
        config.k,
    ) == (
        "compact",
        True,
        64,
        0.5,
        2,
    )
    with pytest.raises(ProposerError, match="TVM_LLM_SCHED_CONSTRAINED"):
        LLMProposerConfig.from_env({"TVM_LLM_SCHED_CONSTRAINED": "maybe"})
    with pytest.raises(ProposerError, match="profile"):
        LLMProposerConfig.from_env({"TVM_LLM_SCHED_PROFILE": "tiny"})


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:8080/v1", True),
        ("http://[::1]:8080/v1", True),
        ("https://api.example.com/v1", False),
        ("http://10.0.0.7:8000/v1", False),
    ],
)
def test_a_loopback_endpoint_is_local(url, local, tmp_path):
    with create("openai", base_url=url, model="m") as proposer:
        assert proposer.local is local
    with create("openai", base_url=url, model="m", record_to=tmp_path) as recorded:
        assert recorded.local is local  # seen through the recording backend
    with create("openai", base_url=url, model="m", local=False) as remote:
        assert remote.local is False


def test_a_local_model_gets_a_lean_call_budget_and_its_profile_menu():
    remote = create("openai", base_url="https://api.example.com/v1", model="m")
    local = create(
        "openai",
        base_url="http://127.0.0.1:9/v1",
        model="m",
        config=LLMProposerConfig(profile="compact"),
    )
    expert = SearchConfig.for_proposer(create("expert"))
    assert SearchConfig.for_proposer(local) == SearchConfig.for_local_model(menu_limit=12)
    calls = [SearchConfig.for_proposer(p).proposer_calls_per_iter for p in (local, remote)]
    assert calls[0] < calls[1] < expert.proposer_calls_per_iter
    assert SearchConfig.for_proposer(remote).menu_limit == 30


def test_mutator_weights_are_asked_only_when_enabled(situation):
    asked = []

    def respond(messages, request):
        asked.append(request)
        names = request["response_format"]["json_schema"]["schema"]["required"]
        return json.dumps(dict.fromkeys(names, 0.5))

    defaults = {"MutateTileSize": 0.9, "MutateUnroll": 0.1}
    with OpenAICompatServer(respond) as server:
        assert _proposer(server.base_url).mutator_weights(defaults, {}) is None
        advised = _proposer(server.base_url, mutator_advice=True)
        weights = advised.mutator_weights(defaults, {})
    assert len(asked) == 1 and weights == {"MutateTileSize": 0.5, "MutateUnroll": 0.5}
    assert advised.stats.mutator_calls == 1 and advised.stats.mutator_answers == 1
    assert "MutateUnroll: default 0.10" in asked[0]["messages"][-1]["content"]


def test_unusable_mutator_weights_leave_the_rule_in_charge():
    with OpenAICompatServer(lambda messages, request: '{"MutateTileSize": 1}') as server:
        advised = _proposer(server.base_url, mutator_advice=True)
        assert advised.mutator_weights({"MutateTileSize": 0.9, "MutateUnroll": 0.1}, {}) is None
    assert advised.stats.mutator_answers == 0
