"""Turning a strategy spec (a built-in name or ``module:callable``) into fresh strategy objects."""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable
from typing import Any

BUILTIN_STRATEGIES = ("evolutionary", "replay-trace", "replay-func")


@dataclasses.dataclass(frozen=True)
class StrategySpec:
    """A strategy to benchmark.

    Attributes
    ----------
    spec : str
        ``evolutionary``, ``replay-trace``, ``replay-func``, or ``module:callable`` for any
        importable factory called with no arguments (a strategy class works).
    """

    spec: str

    @property
    def label(self) -> str:
        """Name for tables and plots: the built-in name or the callable's name."""
        return self.spec.rpartition(":")[2] if ":" in self.spec else self.spec

    @property
    def slug(self) -> str:
        """The label as a file-name token."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.label)

    def factory(self) -> Callable[[], Any]:
        """A no-argument callable returning a fresh ``SearchStrategy`` per call.

        Raises
        ------
        ValueError
            For an unknown built-in name, or a ``module:callable`` that does not import.
        """
        if ":" not in self.spec:
            if self.spec not in BUILTIN_STRATEGIES:
                raise ValueError(
                    f"unknown strategy {self.spec!r}: use one of {', '.join(BUILTIN_STRATEGIES)} "
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


def parse_strategies(specs: list[str]) -> list[StrategySpec]:
    """Validate strategy specs (importing factories now, so typos fail before any tuning)."""
    parsed = [StrategySpec(spec.strip()) for spec in specs if spec.strip()]
    if not parsed:
        raise ValueError("no strategies given")
    labels = [s.slug for s in parsed]
    if len(set(labels)) != len(labels):
        raise ValueError(f"strategy labels must be unique, got {labels}")
    for strategy in parsed:
        strategy.factory()
    return parsed
