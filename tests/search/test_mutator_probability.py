"""LLMMutatorProbability: normalization, success-rate updates, advisor fallbacks, TVM interop."""

from __future__ import annotations

import logging
import math

import pytest
from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.search import LLMMutatorProbability, MutatorStats, success_rate_weights
from tvm_llm_sched.testing.strategy_conformance import conformance_workload

LLVM_DEFAULTS = {
    "MutateTileSize": 0.90,
    "MutateComputeLocation": 0.05,
    "MutateUnroll": 0.03,
    "MutateParallel": 0.02,
}


def _winning_unroll(probs: LLMMutatorProbability) -> None:
    """Unroll children beat their parent every time, tile-size children never do."""
    for _ in range(10):
        probs.record("MutateUnroll", improved=True)
        probs.record("MutateTileSize", improved=False)


def test_defaults_are_normalized():
    probs = LLMMutatorProbability({"A": 2, "B": 6})
    assert probs.defaults == {"A": 0.25, "B": 0.75}
    assert probs.probabilities == probs.defaults
    assert set(probs.stats) == {"A", "B"}


def test_all_zero_defaults_are_rejected():
    with pytest.raises(ValueError):
        LLMMutatorProbability({"A": 0.0, "B": 0.0})


def test_a_space_without_mutators_has_nothing_to_weigh():
    """A design space with no mutators (ScheduleFn without mutator_probs, or {}) is legal: the
    search then mutates nothing, and updates change nothing (the advisor is not asked)."""

    def advisor(defaults, stats):
        raise AssertionError("asked to weigh no mutators")

    probs = LLMMutatorProbability({}, advisor=advisor)
    assert probs.probabilities == {} and probs.update() == {}


def test_without_evidence_the_defaults_stay():
    probs = LLMMutatorProbability(LLVM_DEFAULTS)
    updated = probs.update()
    for name, p in LLVM_DEFAULTS.items():
        assert updated[name] == pytest.approx(p)


def test_success_rate_moves_weight_to_the_improving_mutator():
    probs = LLMMutatorProbability(LLVM_DEFAULTS)
    _winning_unroll(probs)
    assert probs.stats["MutateUnroll"] == MutatorStats(tries=10, improvements=10)
    updated = probs.update()
    assert math.isclose(sum(updated.values()), 1.0)
    assert updated["MutateUnroll"] > LLVM_DEFAULTS["MutateUnroll"]
    assert updated["MutateTileSize"] < LLVM_DEFAULTS["MutateTileSize"]
    # Untried mutators keep their place relative to each other; none is switched off.
    assert updated["MutateComputeLocation"] / updated["MutateParallel"] == pytest.approx(2.5)
    assert min(updated.values()) > 0
    assert probs.probabilities == updated


def test_a_failing_mutator_decays_to_a_floor_not_to_zero():
    weights = success_rate_weights(
        {"A": 0.5, "B": 0.5},
        {"A": MutatorStats(tries=1000, improvements=0), "B": MutatorStats(tries=1000)},
    )
    assert weights["A"] == pytest.approx(0.5 * 0.25)


def test_a_valid_advisor_answer_is_used_and_normalized():
    seen = []

    def advisor(defaults, stats):
        seen.append((dict(defaults), {k: (s.tries, s.improvements) for k, s in stats.items()}))
        return {"A": 3.0, "B": 1.0}

    probs = LLMMutatorProbability({"A": 0.5, "B": 0.5}, advisor=advisor)
    probs.record("B", improved=True)
    assert probs.update() == {"A": 0.75, "B": 0.25}
    assert seen == [({"A": 0.5, "B": 0.5}, {"A": (0, 0), "B": (1, 1)})]


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "MutateUnroll please",
        {"MutateUnroll": 1.0},  # missing mutators
        {**LLVM_DEFAULTS, "MutateMagic": 0.5},  # an unknown one
        {**LLVM_DEFAULTS, "MutateUnroll": -0.1},
        {**LLVM_DEFAULTS, "MutateUnroll": "high"},
        dict.fromkeys(LLVM_DEFAULTS, 0.0),
        {**LLVM_DEFAULTS, "MutateUnroll": float("nan")},
        {**LLVM_DEFAULTS, "MutateUnroll": float("inf")},
    ],
    ids=["none", "text", "missing", "unknown", "negative", "string", "zeros", "nan", "inf"],
)
def test_an_invalid_advisor_answer_falls_back_to_success_rates(answer):
    probs = LLMMutatorProbability(LLVM_DEFAULTS, advisor=lambda defaults, stats: answer)
    _winning_unroll(probs)
    reference = LLMMutatorProbability(LLVM_DEFAULTS)
    _winning_unroll(reference)
    updated = probs.update()
    assert all(math.isfinite(p) for p in updated.values()), updated
    assert updated == pytest.approx(reference.update())


def test_a_raising_advisor_falls_back_with_a_warning(caplog):
    def advisor(defaults, stats):
        raise RuntimeError("advisor offline")

    probs = LLMMutatorProbability(LLVM_DEFAULTS, advisor=advisor)
    _winning_unroll(probs)
    with caplog.at_level(logging.WARNING, logger="tvm_llm_sched.search"):
        updated = probs.update()
    assert any(
        r.name == "tvm_llm_sched.search" and "advisor offline" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )
    assert updated["MutateUnroll"] > LLVM_DEFAULTS["MutateUnroll"]


@pytest.fixture(scope="module")
def context():
    return ms.TuneContext(
        mod=conformance_workload("GMM:0").mod,
        target=host_target(),
        space_generator="post-order-apply",
        num_threads=1,
    )


def test_for_context_starts_from_the_targets_mutators(context):
    probs = LLMMutatorProbability.for_context(context)
    expected = {
        type(m).__name__: float(p) for m, p in context.space_generator.mutator_probs.items()
    }
    assert set(probs.defaults) == set(LLVM_DEFAULTS) == set(expected)
    assert probs.defaults == pytest.approx(
        {k: v / sum(expected.values()) for k, v in expected.items()}
    )


def test_as_mutator_probs_plugs_into_post_order_apply(context):
    probs = LLMMutatorProbability.for_context(context)
    _winning_unroll(probs)
    probs.update()
    mutator_probs = probs.as_mutator_probs(context)
    originals = list(context.space_generator.mutator_probs)
    assert len(mutator_probs) == len(originals)
    for mutator in mutator_probs:  # the context's own Mutator objects, not copies
        assert any(mutator.same_as(original) for original in originals)
        assert mutator_probs[mutator] == probs.probabilities[type(mutator).__name__]
    space = ms.space_generator.PostOrderApply(mutator_probs=mutator_probs)
    tuned = ms.TuneContext(
        mod=context.mod, target=context.target, space_generator=space, num_threads=1
    )
    got = {type(m).__name__: float(p) for m, p in tuned.space_generator.mutator_probs.items()}
    assert got == pytest.approx(probs.probabilities)
    assert got["MutateUnroll"] > LLVM_DEFAULTS["MutateUnroll"]
    assert tuned.generate_design_space()  # the space generator still works
