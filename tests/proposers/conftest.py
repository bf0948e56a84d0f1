"""Shared fixtures of the proposer tests: a real GMM:0 situation, a real validator, fast clients."""

from __future__ import annotations

import functools
import json

import pytest

from tvm_llm_sched.llm import RetryPolicy
from tvm_llm_sched.proposers import (
    LLMProposer,
    LLMProposerConfig,
    Outcome,
    Rejection,
    Situation,
    create,
)
from tvm_llm_sched.search.chain import validator_for
from tvm_llm_sched.steps import parse_step

SECRET = "sk-proposer-FAKE-KEY-5f3a9c1e7b"


@functools.cache
def gmm_state():
    """The unscheduled state of GMM:0 (batch matmul 1x128x128x128)."""
    from tvm_llm_sched.steps import State
    from tvm_llm_sched.workloads import load_workload

    return State.initial(load_workload("GMM:0").mod)


@functools.cache
def gmm_situation() -> Situation:
    """A real situation of GMM:0 with history, as the search would build it."""
    from tvm_llm_sched.ir import hardware_summary, render
    from tvm_llm_sched.steps import legal_steps

    state = gmm_state()
    return Situation(
        workload="GMM:0",
        ir=render(state.schedule),
        hardware=hardware_summary(),
        menu=tuple(legal_steps(state, limit=12)),
        state_latency_us=812.5,
        best_latency_us=640.25,
        recent=(
            Outcome(steps=(parse_step("parallel(l1)"),), latency_us=640.25),
            Outcome(
                steps=(parse_step("vectorize(l3)"),), latency_us=None, error="not a spatial loop"
            ),
        ),
        rejections=(Rejection(step="split(l9, [2, 2])", reason="unknown loop 'l9'"),),
    )


def validate_on(state):
    """A validator that applies the step to ``state`` and returns its rejection, if any."""
    return validator_for(state)


@pytest.fixture
def situation() -> Situation:
    return gmm_situation()


@pytest.fixture
def state():
    return gmm_state()


@pytest.fixture
def validate():
    return validate_on(gmm_state())


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02, jitter=0.005)


@pytest.fixture
def make_proposer(fast_retry):
    """``create("openai", ...)`` proposers (fake API key, fast retries); closed after the test."""
    made: list[LLMProposer] = []

    def make(base_url: str, *, config=None, **kwargs):
        kwargs.setdefault("retry", fast_retry)
        kwargs.setdefault("read_timeout", 5.0)
        proposer = create(
            "openai",
            base_url=base_url,
            model="test-model",
            api_key=SECRET,
            connect_timeout=2.0,
            config=config or LLMProposerConfig(max_tokens=256),
            **kwargs,
        )
        made.append(proposer)
        return proposer

    yield make
    for proposer in made:
        proposer.close()


def _answer(*steps: str, think: str = "reasoning") -> str:
    body = json.dumps({"steps": [{"step": s, "rationale": "why"} for s in steps]})
    return f"<think>{think}</think><answer>{body}</answer>"


@pytest.fixture
def answer():
    """``answer(*steps, think=...)``: a well-formed reply proposing ``steps``."""
    return _answer


@pytest.fixture
def secret() -> str:
    """The fake API key every test client sends; it must never show up anywhere."""
    return SECRET


@pytest.fixture
def expert_walk():
    """``walk(mod, state, kinds)``: the expert's top step from ``state``, once per expected step
    kind (each checked), then the postprocessed schedule of the result, verified against ``mod``.
    """

    def walk(mod, state, kinds):
        from tvm_llm_sched.hardware import host_target
        from tvm_llm_sched.proposers import ExpertPolicy
        from tvm_llm_sched.search.situation import build_situation
        from tvm_llm_sched.steps import design_space_context
        from tvm_llm_sched.verify import verify

        target = host_target(num_cores=2)
        for expected in kinds:
            situation = build_situation(state, workload="W", target=target)
            step = ExpertPolicy().propose(situation, k=1).steps[0].step
            assert step.kind == expected, step
            state = state.apply(step)
        sch = state.schedule.copy()
        assert all(
            p.apply(sch) for p in design_space_context(mod, target).space_generator.postprocs
        )
        assert verify(mod, sch, target).ok
        return state, sch

    return walk
