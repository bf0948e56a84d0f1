"""The one strategy registry: a name or ``module:callable`` in, fresh search strategies out.

Used by ``tvm-llm-sched tune``, :func:`~tvm_llm_sched.tune.tune_workload` and the benchmark
harness alike. Names:

``"llm"``
    :class:`~tvm_llm_sched.search.LLMGuidedSearch` (with the given proposer and seed).
``"llm-random"``
    The same search with the ``random`` proposer: a seeded uniform pick from the same legal-step
    menu with the same call budget (the control a proposer must beat).
``"llm-no-proposer"``
    The same search with the proposer off: the strategy's ranker, mutation and sampling alone.
``"evolutionary"``, ``"replay-trace"``, ``"replay-func"``
    TVM's own strategies (``SearchStrategy.create``).
``"evolutionary-no-warmup"``
    EvolutionarySearch with an XGB cost model that ranks from its first measurement (TVM's
    default ranks at random until it has 100): the baseline a careful user runs at small budgets.
``"module:callable"``
    Any importable factory called with no arguments (a strategy class works), e.g.
    ``tvm_llm_sched.search:LLMGuidedSearch``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable
from typing import Any

TVM_STRATEGIES = ("evolutionary", "replay-trace", "replay-func")
"""MetaSchedule's built-in strategy names."""

LLM_VARIANTS = ("llm", "llm-random", "llm-no-proposer")
"""LLMGuidedSearch with the given proposer, with the random proposer, and with none."""

NO_WARMUP_STRATEGIES = ("evolutionary-no-warmup",)
"""TVM strategies tuned with a cost model that has no warm-up."""

STRATEGY_NAMES = (*LLM_VARIANTS, *TVM_STRATEGIES, *NO_WARMUP_STRATEGIES)
"""Every strategy name the registry knows (``module:callable`` specs come on top)."""


@dataclasses.dataclass(frozen=True)
class StrategySpec:
    """A strategy by name or ``module:callable``.

    Attributes
    ----------
    spec : str
        A name of :data:`STRATEGY_NAMES` or ``module:callable``.

    Examples
    --------
    >>> StrategySpec("tvm_llm_sched.search:LLMGuidedSearch").label
    'LLMGuidedSearch'
    """

    spec: str

    @property
    def label(self) -> str:
        """Name for tables and plots: the name itself or the callable's name."""
        return self.spec.rpartition(":")[2] if ":" in self.spec else self.spec

    @property
    def slug(self) -> str:
        """The label as a file-name token."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.label)

    def factory(self, *, proposer: Any = None, seed: int | None = None) -> Callable[[], Any]:
        """A no-argument callable returning a fresh ``SearchStrategy`` per call.

        ``proposer`` and ``seed`` configure ``"llm"``; other strategies take their seed from
        ``ms.tune_tir``.

        Raises
        ------
        ValueError
            For an unknown name, or a ``module:callable`` that does not import or is not callable.
        """
        if self.spec in LLM_VARIANTS:
            return _llm_factory(self.spec, proposer, seed)
        if self.spec in NO_WARMUP_STRATEGIES:
            return StrategySpec(self.spec.removesuffix("-no-warmup")).factory()
        if ":" not in self.spec:
            if self.spec not in TVM_STRATEGIES:
                raise ValueError(
                    f"unknown strategy {self.spec!r}: use one of {', '.join(STRATEGY_NAMES)} "
                    "or 'module:callable'"
                )
            from tvm.s_tir.meta_schedule import search_strategy as tvm_strategies

            # The classes, not SearchStrategy.create: tvm_llm_sched.relax.use_strategy switches
            # that factory's "evolutionary", and a baseline asked for by name must stay TVM's.
            kinds = {
                "evolutionary": tvm_strategies.EvolutionarySearch,
                "replay-trace": tvm_strategies.ReplayTrace,
                "replay-func": tvm_strategies.ReplayFunc,
            }
            return kinds[self.spec]
        module_name, _, attr = self.spec.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot import strategy factory {self.spec!r}: {exc}") from exc
        if not callable(target):
            raise ValueError(f"strategy factory {self.spec!r} is not callable")
        return target

    def cost_model(self, num_cores: int) -> Any:
        """``ms.tune_tir``'s ``cost_model`` argument for this strategy.

        ``"xgb"`` (TVM's default, 100 warm-up samples) except for
        :data:`NO_WARMUP_STRATEGIES`, which get an XGB model that trains and ranks from its first
        measurement.

        Parameters
        ----------
        num_cores : int
            Cores the model trains on (what ``ms.tune_tir`` gives its own default model).
        """
        if self.spec not in NO_WARMUP_STRATEGIES:
            return "xgb"
        from tvm.s_tir.meta_schedule.cost_model import CostModel

        return CostModel.create(
            "xgb", num_warmup_samples=0, num_tuning_cores=num_cores, tree_method="auto"
        )


def _llm_factory(name: str, proposer: Any, seed: int | None) -> Callable[[], Any]:
    """LLMGuidedSearch as named: with ``proposer``, with the seeded random proposer, or with the
    proposer off (no calls at all, so whichever proposer it holds is never asked)."""
    from .config import SearchConfig
    from .llm_guided import LLMGuidedSearch

    if name == "llm-random":
        from ..proposers import create

        return lambda: LLMGuidedSearch(create("random", seed=seed or 0), seed=seed)
    if name == "llm-no-proposer":
        off = SearchConfig(proposer_calls_per_iter=0, first_proposer_calls=0)
        return lambda: LLMGuidedSearch(proposer, config=off, seed=seed)
    return lambda: LLMGuidedSearch(proposer, seed=seed)


def make_strategy(spec: str, *, proposer: Any = None, seed: int | None = None) -> Any:
    """A fresh strategy object for ``ms.tune_tir`` from a name or ``module:callable``.

    Raises
    ------
    ValueError
        For an unknown spec.
    """
    return StrategySpec(spec.strip()).factory(proposer=proposer, seed=seed)()


def parse_strategies(specs: list[str]) -> list[StrategySpec]:
    """Validate strategy specs (importing factories now, so typos fail before any tuning).

    Raises
    ------
    ValueError
        No spec, an unknown or unimportable one, or two with the same label.
    """
    parsed = [StrategySpec(spec.strip()) for spec in specs if spec.strip()]
    if not parsed:
        raise ValueError("no strategies given")
    labels = [s.slug for s in parsed]
    if len(set(labels)) != len(labels):
        raise ValueError(f"strategy labels must be unique, got {labels}")
    for strategy in parsed:
        strategy.factory()
    return parsed
