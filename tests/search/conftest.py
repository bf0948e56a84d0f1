"""Proposers for the search tests: a spy around the expert policy, ones that fail, one that
proposes an illegal step; plus fast retries for HTTP proposers."""

from __future__ import annotations

import ast
import json
import re
import threading

import pytest

from tvm_llm_sched.llm import RetryPolicy
from tvm_llm_sched.proposers import ExpertPolicy, Proposal, Proposer, RankedStep
from tvm_llm_sched.steps import parse_step

_DECISION_EDIT = re.compile(r"\s*set_(?:tile|choice|compute_location)\(\s*(d\d+)\s*,\s*(.+)\)\s*$")


def decisions_key(decisions: dict) -> str:
    """A comparable form of a full decision assignment ``{"d0": value, ...}``."""
    return json.dumps(decisions, sort_keys=True)


def schedule_decisions(sch, mod) -> str:
    """The decision assignment of a schedule's trace, as :func:`decisions_key`."""
    from tvm_llm_sched.search.facts import decision_facts

    return decisions_key({d.name: d.value for d in decision_facts(sch, mod)})


class SpyProposer(Proposer):
    """Delegates to ``inner`` and remembers every call and the full decision assignment each
    returned step leads to (the parent's decisions from the situation's facts, one edited).

    ``first`` is put in front of the inner steps; with ``validate_first`` it goes through the
    caller's validator like a well-behaved proposer's steps, else it is returned unchecked.
    """

    def __init__(self, inner: Proposer, *, first: str | None = None, validate_first: bool = True):
        self.inner = inner
        self.name = f"spy-{inner.name}"
        self.needs_menu = inner.needs_menu
        self.local = inner.local
        self.instant = inner.instant
        self.first = first
        self.validate_first = validate_first
        self.situations = []
        self.steps: list[str] = []
        self.children: set[str] = set()
        self._lock = threading.Lock()  # the policy server answers on several threads

    def propose(self, situation, *, k=4, validate=None):
        proposal = self.inner.propose(situation, k=k, validate=validate)
        steps, rejections = proposal.steps, proposal.rejections
        if self.first is not None:
            first = parse_step(self.first)
            rejection = validate(first) if validate and self.validate_first else None
            if rejection is None:
                steps = (RankedStep(step=first, rationale="scripted"), *steps)[:k]
            else:
                rejections = (rejection, *rejections)
        parent = {d.name: d.value for d in situation.facts.decisions}
        with self._lock:
            self.situations.append(situation)
            for step in steps:
                self.steps.append(step.step.to_text())
                match = _DECISION_EDIT.match(step.step.to_text())
                if match and match.group(1) in parent:
                    child = {**parent, match.group(1): ast.literal_eval(match.group(2))}
                    self.children.add(decisions_key(child))
        return Proposal(
            steps=steps,
            rejections=rejections,
            reasoning=proposal.reasoning,
            usage_tokens=proposal.usage_tokens,
            error=proposal.error,
        )

    def measured(self, schedules, mod) -> list:
        """The schedules whose decisions are exactly ones this proposer's steps set."""
        return [s for s in schedules if schedule_decisions(s, mod) in self.children]


class FailingProposer(Proposer):
    """Fails on every call: with ``raises`` it breaks the "never raises" contract, otherwise it
    answers ``Proposal(error=...)`` like a proposer whose model endpoint is down."""

    needs_menu = False
    local = True
    instant = True

    def __init__(self, *, raises: bool):
        self.raises = raises
        self.name = "raising" if raises else "erroring"
        self.calls = 0

    def propose(self, situation, *, k=4, validate=None):
        self.calls += 1
        if self.raises:
            raise RuntimeError("proposer exploded")
        return Proposal(error="model unavailable")


def _make_engine(workload: str, proposer: Proposer, *, rand_state: int, config=None):
    """A SearchEngine over ``workload``'s post-order-apply design spaces (sampled with
    ``rand_state``) and no mutators; returns ``(mod, spaces, engine)``."""
    from tvm_llm_sched.hardware import host_target
    from tvm_llm_sched.search import LLMMutatorProbability, SearchConfig
    from tvm_llm_sched.search.engine import SearchEngine
    from tvm_llm_sched.steps import design_space_context
    from tvm_llm_sched.workloads import load_workload

    mod = load_workload(workload).mod
    ctx = design_space_context(mod, host_target(), rand_state=rand_state)
    spaces = list(ctx.space_generator.generate_design_space(mod))
    engine = SearchEngine(
        mod=mod,
        target=ctx.target,
        design_spaces=spaces,
        postprocs=ctx.space_generator.postprocs,
        mutators={},
        mutator_probability=LLMMutatorProbability({"MutateTileSize": 1.0}),
        proposer=proposer,
        config=config or SearchConfig(),
        seed=1,
        workload_name=workload,
    )
    return mod, spaces, engine


@pytest.fixture(scope="session")
def make_engine():
    """``make_engine(workload, proposer, rand_state=..., config=None) -> (mod, spaces, engine)``:
    a SearchEngine over the workload's design spaces, with no mutators."""
    return _make_engine


@pytest.fixture(scope="session")
def make_spy():
    """``make_spy(inner=None, first=None, validate_first=True)``: a :class:`SpyProposer`
    (around the embedded expert policy by default)."""

    def make(inner: Proposer | None = None, **kwargs) -> SpyProposer:
        return SpyProposer(inner or ExpertPolicy(), **kwargs)

    return make


@pytest.fixture
def raising_proposer() -> FailingProposer:
    return FailingProposer(raises=True)


@pytest.fixture
def error_proposer() -> FailingProposer:
    return FailingProposer(raises=False)


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.02, jitter=0.005)


@pytest.fixture
def make_llm_proposer(fast_retry):
    """``create("openai", ...)`` proposers with a fake key and fast retries, closed afterwards."""
    from tvm_llm_sched.proposers import create

    made = []

    def make(base_url: str, model: str = "expert-policy", local: bool | None = False):
        # local=False: the servers of these tests stand in for remote endpoints
        proposer = create(
            "openai",
            base_url=base_url,
            model=model,
            api_key="sk-test-search-0123456789",
            retry=fast_retry,
            connect_timeout=2.0,
            read_timeout=20.0,
            local=local,
        )
        made.append(proposer)
        return proposer

    yield make
    for proposer in made:
        proposer.close()
