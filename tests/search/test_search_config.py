"""SearchConfig: defaults, per-proposer defaults, and clear errors for bad values."""

from __future__ import annotations

import dataclasses

import pytest

from tvm_llm_sched.proposers import ExpertPolicy, LLMProposer
from tvm_llm_sched.search import LLMGuidedSearch, SearchConfig

FIELDS = dataclasses.fields(SearchConfig)
COUNTS = [f.name for f in FIELDS if f.type == "int"]
FRACTIONS = [f.name for f in FIELDS if f.type == "float"]


def test_defaults_are_valid_and_frozen():
    config = SearchConfig()
    assert 0.0 <= config.proposer_share <= 1.0 and 0.0 <= config.eps_greedy <= 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.beam_width = 1  # type: ignore[misc]


def test_zero_budgets_are_allowed():
    # proposer_calls_per_iter=0 is how a caller turns the proposer off.
    assert SearchConfig(proposer_calls_per_iter=0, mutations_per_iter=0).beam_width == 3


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        SearchConfig(3)  # type: ignore[misc]


@pytest.mark.parametrize("field", COUNTS)
def test_negative_counts_name_the_field(field):
    with pytest.raises(ValueError, match=f"SearchConfig.{field} must be >= 0"):
        SearchConfig(**{field: -1})


@pytest.mark.parametrize("field", FRACTIONS)
@pytest.mark.parametrize("value", [1.5, -0.1, float("nan"), float("inf")])
def test_fractions_must_be_within_unit_interval(field, value):
    with pytest.raises(ValueError, match=field):
        SearchConfig(**{field: value})


@pytest.mark.parametrize("value", [1.5, "3", None])
def test_counts_must_be_integers(value):
    # A float would reach `starts[:beam_width]` and fail inside tuning instead of here.
    with pytest.raises((TypeError, ValueError), match="beam_width"):
        SearchConfig(beam_width=value)


def test_unknown_field_is_a_type_error():
    with pytest.raises(TypeError):
        SearchConfig(beam=3)  # type: ignore[call-arg]


def test_for_proposer_is_lean_for_remote_models():
    from tvm_llm_sched.llm import ChatClient, EndpointConfig

    local = SearchConfig.for_proposer(ExpertPolicy())
    remote = SearchConfig.for_proposer(
        LLMProposer(ChatClient(EndpointConfig(base_url="https://api.example.com/v1", model="m")))
    )
    assert local == SearchConfig()
    assert remote.proposer_calls_per_iter < local.proposer_calls_per_iter


def test_strategy_keeps_an_explicit_config():
    config = SearchConfig(beam_width=1, chain_depth=2)
    assert LLMGuidedSearch("expert", config=config).config == config


def _first_iteration(config: SearchConfig, spy, *, clone: bool = False):
    """Run one hand-driven iteration of LLMGuidedSearch(spy, config) (or of its clone)."""
    from tvm_llm_sched.testing import HandTuner
    from tvm_llm_sched.testing.strategy_conformance import conformance_workload

    strategy = LLMGuidedSearch(spy, config=config)
    tuner = HandTuner(
        strategy.clone() if clone else strategy,
        conformance_workload("GMM:0").mod,
        cost_model="random",
    )
    tuner.pre_tuning(4, 4)
    assert tuner.step() is not None


@pytest.mark.tuning
@pytest.mark.parametrize("depth", [1, 6])
def test_clones_keep_the_config(depth, make_spy):
    """What the task scheduler tunes is a clone (``TuneContext(...).clone()``): it must use the
    caller's config. ``chain_depth=1`` means no proposer call continues a chain."""
    spy = make_spy()
    _first_iteration(SearchConfig(chain_depth=depth), spy, clone=True)
    assert spy.situations
    assert any(s.state_steps for s in spy.situations) == (depth > 1)


@pytest.mark.tuning
def test_the_call_cap_holds_in_the_first_iteration(make_spy):
    """``first_proposer_calls`` caps the first iteration (one chain per seed), as
    ``proposer_calls_per_iter`` caps later ones; remote proposers get lean caps for both because
    each call costs seconds and tokens."""
    spy = make_spy()
    _first_iteration(SearchConfig(first_proposer_calls=2), spy)
    assert 1 <= len(spy.situations) <= 2
