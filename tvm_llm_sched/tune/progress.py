"""A MetaSchedule measure callback that drives a progress bar: trials done and best latency."""

from __future__ import annotations

import math
from typing import Any

from tvm.ir.utils import derived_object
from tvm.s_tir.meta_schedule.measure_callback import PyMeasureCallback

from ..measure.latency import latency_us


@derived_object
class ProgressCallback(PyMeasureCallback):
    """Advance a ``tqdm`` bar after every measured batch and show the best latency so far.

    Parameters
    ----------
    bar : tqdm.tqdm
        The bar to advance (its ``total`` is the trial budget).
    """

    def __init__(self, bar: Any):
        self.bar = bar
        self.best_us = math.inf

    def apply(
        self,
        task_scheduler: Any,
        task_id: int,
        measure_candidates: list[Any],
        builder_results: list[Any],
        runner_results: list[Any],
    ) -> None:
        self.best_us = advance_bar(self.bar, self.best_us, runner_results)


def advance_bar(bar: Any, best_us: float, runner_results: list[Any]) -> float:
    """Advance ``bar`` by a measured batch, show the best latency; returns the new best (us)."""
    for result in runner_results:
        latency = latency_us(result)
        if latency is not None:
            best_us = min(best_us, latency)
    bar.update(len(runner_results))
    if math.isfinite(best_us):
        bar.set_postfix_str(f"best={best_us:.1f}us")
    return best_us
