"""Pre-ranking of candidates: the task's cost model, or a strategy-owned model during its warm-up.

TVM's XGB cost model answers ``predict`` with uniform random scores until it has seen
``num_warmup_samples`` (100) measurements. A 64-trial run never leaves that warm-up, so ranking
by the task's model alone would order every batch at random. :class:`CandidateRanker` keeps a
second :class:`~tvm.s_tir.meta_schedule.cost_model.XGBModel` with no warm-up, fed with the same
runner results, and ranks with it until the task's model predicts for real (asked by
:func:`answers_at_random`). Its predictions are deterministic (fixed XGBoost seed, one thread),
which also keeps replayed runs reproducible.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger("tvm_llm_sched.search")


def answers_at_random(context: Any, cost_model: Any, probe: Sequence[Any]) -> bool:
    """Whether ``cost_model`` scores ``probe`` (measure candidates) at random.

    The strategy sees the task's cost model only through its FFI interface (no warm-up counter),
    so it asks twice: TVM's XGBModel in warm-up draws fresh uniform scores, a trained model
    repeats itself.
    """
    first = [float(s) for s in cost_model.predict(context, list(probe))]
    second = [float(s) for s in cost_model.predict(context, list(probe))]
    return first != second


class CandidateRanker:
    """Scores measure candidates, best first.

    Parameters
    ----------
    context : TuneContext
        The task (feature extraction needs it).
    cost_model : CostModel | None
        The task's cost model, used once it stops answering at random.
    min_samples : int
        Measurements the strategy-owned model needs before it ranks; with fewer, :meth:`ready`
        is False and the caller keeps its own order. 0 turns the strategy-owned model off.
    """

    def __init__(self, context: Any, cost_model: Any, *, min_samples: int = 8):
        self.context = context
        self.cost_model = cost_model
        self.min_samples = min_samples
        self.samples = 0
        self._probe: list[Any] = []
        self._task_informative: bool | None = None
        self._own: Any = None
        if min_samples > 0:
            try:
                from tvm.s_tir.meta_schedule.cost_model.xgb_model import XGBConfig, XGBModel

                # nthread=1: training runs while the runner measures on the other core.
                self._own = XGBModel(
                    num_warmup_samples=0,
                    adaptive_training=False,
                    verbose_eval=0,
                    config=XGBConfig(nthread=1),
                )
            except ImportError:  # xgboost missing: rank with the task's model only
                logger.info("xgboost is not installed; warm-up ranking is off")

    def _task_model_ranks(self) -> bool:
        if self.cost_model is None or not self._probe:
            return False
        if self._task_informative is None:  # asked once per batch of results
            self._task_informative = not answers_at_random(
                self.context, self.cost_model, self._probe
            )
        return self._task_informative

    def ready(self) -> bool:
        """Whether :meth:`scores` ranks by a model (not at random)."""
        if self._task_model_ranks():
            return True
        return self._own is not None and self.samples >= self.min_samples

    def update(self, candidates: Sequence[Any], results: Sequence[Any]) -> None:
        """Feed measured candidates (MeasureCandidates) and their RunnerResults."""
        if not candidates:
            return
        self._probe = list(candidates[:2])
        self._task_informative = None
        if self._own is None:
            return
        self._own.update(self.context, list(candidates), list(results))
        self.samples += len(candidates)

    def scores(self, candidates: Sequence[Any]) -> list[float]:
        """Predicted scores (higher is faster) of MeasureCandidates."""
        model = self.cost_model if self._task_model_ranks() else self._own
        return [float(s) for s in model.predict(self.context, list(candidates))]
