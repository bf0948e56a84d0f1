"""LLMMutatorProbability: MetaSchedule mutator weights that follow the tuning history.

MetaSchedule's evolutionary search picks a mutator per mutation with fixed probabilities (llvm:
MutateTileSize 0.90, MutateComputeLocation 0.05, MutateUnroll 0.03, MutateParallel 0.02). This
class starts from the target's defaults and re-weights them from measured evidence: how often a
child made by each mutator beat its parent. Every few iterations the proposer is asked
(:meth:`~tvm_llm_sched.proposers.base.Proposer.mutator_weights`): an LLM proposer may answer from
the statistics in its prompt, the embedded policy answers with a smoothed success-rate rule.

Used inside :class:`~tvm_llm_sched.search.LLMGuidedSearch`, or on its own: feed the statistics of
an earlier run and pass :meth:`LLMMutatorProbability.as_mutator_probs` to
``ms.space_generator.PostOrderApply(mutator_probs=...)`` so TVM's EvolutionarySearch uses them.

Examples
--------
>>> probs = LLMMutatorProbability({"MutateTileSize": 0.9, "MutateUnroll": 0.1})
>>> probs.record("MutateUnroll", improved=True)
>>> probs.update()
>>> round(sum(probs.probabilities.values()), 6)
1.0
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger("tvm_llm_sched.search")


@dataclasses.dataclass
class MutatorStats:
    """Children made by one mutator that were measured, and how many beat their parent."""

    tries: int = 0
    improvements: int = 0


def success_rate_weights(
    defaults: Mapping[str, float], stats: Mapping[str, MutatorStats], *, prior_strength: float = 8.0
) -> dict[str, float]:
    """Defaults re-weighted by smoothed success rates (a Beta prior centred on the mean rate).

    A mutator never tried keeps its default weight; one whose children keep failing decays towards
    a floor of a quarter of its default, so it is never switched off.
    """
    tries = sum(s.tries for s in stats.values())
    wins = sum(s.improvements for s in stats.values())
    mean = (wins + 1.0) / (tries + 2.0)
    weights = {}
    for name, default in defaults.items():
        s = stats.get(name, MutatorStats())
        rate = (s.improvements + prior_strength * mean) / (s.tries + prior_strength)
        weights[name] = default * max(0.25, rate / mean)
    return weights


class LLMMutatorProbability:
    """Mutator probabilities driven by the tuning history and the proposer.

    Parameters
    ----------
    defaults : Mapping[str, float]
        Starting probabilities by mutator name (the target's MetaSchedule defaults). Empty for a
        design space without mutators: then there is nothing to weigh, and the search mutates
        nothing.
    advisor : Callable | None
        ``advisor(defaults, stats) -> dict[str, float] | None``; usually a proposer's
        ``mutator_weights``. ``None`` or a failing advisor falls back to
        :func:`success_rate_weights`.
    """

    def __init__(
        self,
        defaults: Mapping[str, float],
        *,
        advisor: Callable[[Mapping[str, float], Mapping[str, MutatorStats]], Any] | None = None,
    ):
        self.defaults = _normalized(defaults) if defaults else {}
        self.advisor = advisor
        self.stats: dict[str, MutatorStats] = {name: MutatorStats() for name in self.defaults}
        self.probabilities: dict[str, float] = dict(self.defaults)

    @classmethod
    def for_context(cls, context: Any, **kwargs: Any) -> LLMMutatorProbability:
        """Start from the mutator probabilities of a MetaSchedule ``TuneContext`` (none when its
        space generator has no ``mutator_probs``, e.g. a ``ScheduleFn`` without them)."""
        probs = context.space_generator.mutator_probs or {}
        return cls({type(m).__name__: float(p) for m, p in probs.items()}, **kwargs)

    def record(self, mutator: str, *, improved: bool) -> None:
        """Count one measured child of ``mutator``."""
        stats = self.stats.setdefault(mutator, MutatorStats())
        stats.tries += 1
        stats.improvements += int(improved)

    def update(self) -> dict[str, float]:
        """Ask the advisor for new weights (validated), else use the success-rate rule."""
        if not self.defaults:
            return self.probabilities
        weights = None
        if self.advisor is not None:
            try:
                weights = self.advisor(self.defaults, self.stats)
            except Exception as exc:  # an advisor is user code: never let it stop tuning
                logger.warning("mutator advisor failed (%s); using success rates", exc)
        if not _valid(weights, self.defaults):
            weights = success_rate_weights(self.defaults, self.stats)
        self.probabilities = _normalized(weights)
        logger.info("mutator probabilities: %s", _fmt(self.probabilities))
        return self.probabilities

    def as_mutator_probs(self, context: Any) -> dict[Any, float]:
        """The probabilities keyed by the context's Mutator objects (for ``PostOrderApply``)."""
        return {
            mutator: self.probabilities.get(type(mutator).__name__, 0.0)
            for mutator in context.space_generator.mutator_probs or {}
        }


def _valid(weights: Any, defaults: Mapping[str, float]) -> bool:
    if not isinstance(weights, Mapping) or set(weights) != set(defaults):
        return False
    return (
        all(
            isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w) and w >= 0
            for w in weights.values()
        )
        and sum(weights.values()) > 0
    )


def _normalized(weights: Mapping[str, float]) -> dict[str, float]:
    total = float(sum(weights.values()))
    if total <= 0:
        raise ValueError("mutator probabilities must not all be zero")
    return {name: float(w) / total for name, w in weights.items()}


def _fmt(probs: Mapping[str, float]) -> str:
    return ", ".join(f"{name}={p:.3f}" for name, p in probs.items())
