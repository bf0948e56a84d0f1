"""The policy server: a proposer behind an OpenAI-compatible endpoint, driven by LLMProposer."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import httpx
import pytest

from tvm_llm_sched.proposers import (
    Proposal,
    Proposer,
    RankedStep,
    build_messages,
    create,
    parse_reply,
)
from tvm_llm_sched.serving import PolicyServer
from tvm_llm_sched.testing import OpenAICompatServer


class MenuPolicy(Proposer):
    """Takes the menu in order and remembers what it was asked."""

    name = "menu"

    def __init__(self):
        self.asked = []

    def propose(self, situation, *, k=4, validate=None):
        self.asked.append((situation, k))
        steps = tuple(RankedStep(step=s, rationale="from the menu") for s in situation.menu[:k])
        return Proposal(steps=steps, reasoning=f"{len(situation.menu)} legal steps")


def _post(server, body):
    return httpx.post(server.base_url + "/chat/completions", json=body, timeout=10.0)


def test_llm_proposer_through_the_policy_server(situation, validate, fast_retry):
    policy = MenuPolicy()
    with PolicyServer(policy, model="menu-policy") as server:
        proposer = create("openai", base_url=server.base_url, model="menu-policy", retry=fast_retry)
        with proposer:
            proposal = proposer.propose(situation, k=3, validate=validate)
        models = httpx.get(server.base_url + "/models").json()
    assert policy.asked == [(situation, 3)]  # the exact situation crossed HTTP
    assert [s.step for s in proposal.steps] == list(situation.menu[:3])
    assert proposal.reasoning == f"{len(situation.menu)} legal steps"
    assert proposal.error is None and proposal.usage_tokens > 0
    assert models["data"][0]["id"] == "menu-policy"


def test_json_mode_request_gets_bare_json(situation):
    with PolicyServer(MenuPolicy()) as server:
        body = {
            "model": "m",
            "messages": build_messages(situation, k=1, json_mode=True),
            "response_format": {"type": "json_object"},
        }
        text = _post(server, body).json()["choices"][0]["message"]["content"]
    assert json.loads(text)["steps"][0]["step"] == situation.menu[0].to_text()
    assert [s.step for s in parse_reply(text).steps] == [situation.menu[0]]


def test_prompt_without_situation_is_a_clean_400():
    with PolicyServer(MenuPolicy()) as server:
        response = _post(server, {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        broken = _post(server, {"model": "m", "messages": "not a list"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "messages"
    assert "no situation" in error["message"]
    assert broken.status_code == 400 and "'messages' must be" in broken.json()["error"]["message"]


def test_responder_alone_in_a_plain_server(situation):
    from tvm_llm_sched.serving import policy_responder

    with OpenAICompatServer(policy_responder(MenuPolicy())) as server:
        good = _post(server, {"model": "m", "messages": build_messages(situation, k=2)})
        bad = _post(server, {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert good.status_code == 200 and bad.status_code == 500  # PolicyServer makes this a 400


@pytest.fixture
def expert_situation(situation, state):
    """The real GMM:0 situation with the facts the expert policy reads.

    The unscheduled state has no sampled decisions, so the policy ranks the legal menu (a design
    space sample would cost a minute of MetaSchedule here; the expert's own tests cover those).
    """
    from tvm_llm_sched.hardware import detect_cpu, host_target
    from tvm_llm_sched.proposers.facts import Facts
    from tvm_llm_sched.search.facts import cpu_facts, decision_facts

    facts = Facts(
        decisions=decision_facts(state.schedule, state.mod),
        cpu=cpu_facts(detect_cpu(host_target())),
    )
    return dataclasses.replace(situation, facts=facts)


def test_expert_policy_through_http(expert_situation, validate, fast_retry):
    situation = expert_situation
    with PolicyServer() as server:
        proposer = create(
            "openai", base_url=server.base_url, model="expert-policy", retry=fast_retry
        )
        with proposer:
            proposal = proposer.propose(situation, k=3, validate=validate)
    assert proposal.error is None and 1 <= len(proposal.steps) <= 3
    assert all(validate(s.step) is None for s in proposal.steps)


def test_serve_policy_command(expert_situation, validate, fast_retry):
    situation = expert_situation
    command = [
        sys.executable,
        "-c",
        "from tvm_llm_sched.cli import main; main()",
        "serve-policy",
        "--port",
        "0",
        "--model",
        "cli-expert",
    ]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [process.stderr.readline() for _ in range(1)]
        while not lines[-1].startswith("serving") and lines[-1] and len(lines) < 100:
            lines.append(process.stderr.readline())  # skip any warnings printed first
        line = lines[-1]
        assert line.startswith("serving cli-expert at http://127.0.0.1:"), lines
        base_url = line.split(" at ", 1)[1].strip()
        proposer = create("openai", base_url=base_url, model="cli-expert", retry=fast_retry)
        with proposer:
            proposal = proposer.propose(situation, k=2, validate=validate)
        assert proposal.error is None and proposal.steps
    finally:
        process.terminate()
        process.wait(timeout=10)
