"""create() and default_proposer(); a recorded run replays byte-identically with no network."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from tvm_llm_sched.errors import ProposerError
from tvm_llm_sched.llm import ChatClient, RecordingChatClient, RecordingStore, ReplayChatClient
from tvm_llm_sched.proposers import (
    PROPOSER_KINDS,
    LLMProposer,
    LLMProposerConfig,
    Proposal,
    Proposer,
    create,
    default_proposer,
    situation_from_messages,
)
from tvm_llm_sched.testing import OpenAICompatServer

_ENV = ("TVM_LLM_SCHED_BASE_URL", "TVM_LLM_SCHED_MODEL", "TVM_LLM_SCHED_API_KEY", "OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in (*_ENV, "TVM_LLM_SCHED_JSON_MODE"):
        monkeypatch.delenv(name, raising=False)


class _Fixed(Proposer):
    name = "fixed"

    def propose(self, situation, *, k=4, validate=None):
        return Proposal()


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(ValueError, match="kinds are openai, expert, replay, random"):
        create("gpt")
    with pytest.raises(ValueError, match="unknown proposer kind"):
        create(None)
    assert set(PROPOSER_KINDS) == {"openai", "expert", "replay", "random", "local"}


def test_an_instance_passes_through():
    proposer = _Fixed()
    assert create(proposer) is proposer
    with pytest.raises(TypeError, match="instance"):
        create(proposer, k=3)


def test_openai_from_arguments(fast_retry, secret):
    with create(
        "openai", base_url="http://127.0.0.1:9/v1", model="m", api_key=secret, retry=fast_retry
    ) as proposer:
        assert isinstance(proposer, LLMProposer) and isinstance(proposer.backend, ChatClient)
        assert proposer.backend.config.base_url == "http://127.0.0.1:9/v1"
        assert proposer.backend.retry is fast_retry
        assert secret not in repr(proposer)


def test_openai_from_the_environment(monkeypatch, secret):
    monkeypatch.setenv("TVM_LLM_SCHED_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TVM_LLM_SCHED_MODEL", "env-model")
    monkeypatch.setenv("TVM_LLM_SCHED_API_KEY", secret)
    monkeypatch.setenv("TVM_LLM_SCHED_JSON_MODE", "1")
    with create("openai", read_timeout=3.0) as proposer:
        config = proposer.backend.config
        assert (config.model, config.api_key, config.read_timeout) == ("env-model", secret, 3.0)
        assert proposer.config.json_mode
    with default_proposer() as proposer:
        assert isinstance(proposer, LLMProposer) and proposer.backend.model == "env-model"


def test_openai_argument_errors():
    with pytest.raises(ProposerError, match="TVM_LLM_SCHED_BASE_URL"):
        create("openai")
    with pytest.raises(ValueError, match="model"):
        create("openai", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(TypeError, match="unexpected arguments \\['temprature'\\]"):
        create("openai", base_url="http://127.0.0.1:9/v1", model="m", temprature=0.1)


def test_default_proposer_refuses_a_half_configured_environment(monkeypatch):
    monkeypatch.setenv("TVM_LLM_SCHED_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(ProposerError, match="TVM_LLM_SCHED_MODEL"):
        default_proposer()


def test_replay_needs_recordings(tmp_path):
    with pytest.raises(ValueError, match="no recordings"):
        create("replay", path=tmp_path / "nothing")


def test_expert_and_default_without_endpoint():
    from tvm_llm_sched.proposers import ExpertConfig, ExpertPolicy

    assert isinstance(create("expert"), ExpertPolicy)
    assert create("expert", config=ExpertConfig(seed=3)).config.seed == 3
    assert isinstance(default_proposer(), ExpertPolicy)


def _scripted_model(messages, request):
    """A deterministic fake model: hallucinates on its first turn for SFM, answers per k."""
    situation = situation_from_messages(messages)
    if situation.workload == "SFM:0" and len(messages) == 2:
        return '<think>guess</think><answer>{"steps": [{"step": "split(l99, [2, 2])"}]}</answer>'
    steps = ", ".join(f'{{"step": "{s}", "rationale": "menu"}}' for s in situation.menu[:3])
    return (
        f'<think>{situation.workload}: take the menu</think><answer>{{"steps": [{steps}]}}</answer>'
    )


def test_record_then_replay_without_network(
    tmp_path, situation, validate, fast_retry, secret, monkeypatch
):
    situations = [situation, dataclasses.replace(situation, workload="SFM:0", best_latency_us=1.5)]
    config = LLMProposerConfig(max_tokens=200, temperature=0.0)
    with OpenAICompatServer(_scripted_model) as server:
        recorder = create(
            "openai",
            base_url=server.base_url,
            model="recorded-model",
            api_key=secret,
            retry=fast_retry,
            config=config,
            record_to=tmp_path,
        )
        assert isinstance(recorder.backend, RecordingChatClient)
        recorded = [recorder.propose(s, k=2, validate=validate) for s in situations]
        recorder.close()
    assert server.request_count == 3  # SFM needed a repair turn
    assert [s.step for s in recorded[1].steps] == list(situation.menu[:2])
    assert recorded[1].rejections[0].step == "split(l99, [2, 2])"

    def no_network(*args, **kwargs):
        raise AssertionError("the replay proposer opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    replayer = create("replay", path=tmp_path)
    assert isinstance(replayer.backend, ReplayChatClient)
    assert replayer.config.max_tokens == 200 and replayer.backend.model == "recorded-model"
    replayed = [replayer.propose(s, k=2, validate=validate) for s in situations]
    assert replayed == recorded
    store = RecordingStore(tmp_path)
    for recording in store:  # the replies themselves, byte for byte
        again = replayer.backend.complete(
            recording.request.messages, max_tokens=200, temperature=0.0
        )
        assert again.text.encode() == recording.reply.text.encode()
    for path in tmp_path.rglob("*.json"):
        assert secret.encode() not in path.read_bytes()

    missed = replayer.propose(dataclasses.replace(situation, workload="C1D:0"))
    assert missed.steps == () and "no recorded reply" in missed.error
