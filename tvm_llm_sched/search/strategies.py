"""The one strategy registry: a name or ``module:callable`` in, fresh search strategies out.

Used by ``tvm-llm-sched tune``, :func:`~tvm_llm_sched.tune.tune_workload` and the benchmark
harness alike. Names:

``"llm"``
    :class:`~tvm_llm_sched.search.LLMGuidedSearch` (with the given proposer and seed).
``"evolutionary"``, ``"replay-trace"``, ``"replay-func"``
    TVM's own strategies (``SearchStrategy.create``).
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

STRATEGY_NAMES = ("llm", *TVM_STRATEGIES)
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
        if self.spec == "llm":
            from .llm_guided import LLMGuidedSearch

            return lambda: LLMGuidedSearch(proposer, seed=seed)
        if ":" not in self.spec:
            if self.spec not in TVM_STRATEGIES:
                raise ValueError(
                    f"unknown strategy {self.spec!r}: use one of {', '.join(STRATEGY_NAMES)} "
                    "or 'module:callable'"
                )
            from tvm.s_tir.meta_schedule.search_strategy import SearchStrategy

            return lambda: SearchStrategy.create(self.spec)
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
