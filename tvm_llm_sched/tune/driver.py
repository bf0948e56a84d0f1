"""The one ``ms.tune_tir`` call of the package: ``tune_workload`` and the benchmark harness both
tune through :func:`run_tune_tir`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

_MS_LOGGER = "tvm.s_tir.meta_schedule"


@contextlib.contextmanager
def quiet_console(quiet: bool = True) -> Iterator[None]:
    """Keep MetaSchedule's console at WARNING while tuning (its log files in the work dir still
    get DEBUG), so a progress bar is not buried under task tables and XGBoost iterations.

    MetaSchedule copies its logger's level into its console handler when a run starts; the level
    is restored on exit.
    """
    ms_logger = logging.getLogger(_MS_LOGGER)
    previous = ms_logger.level
    if quiet:
        ms_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        ms_logger.setLevel(previous)


def default_callbacks() -> list[Any]:
    """MetaSchedule's default measure callbacks (database commit, cost-model update, ...)."""
    from tvm.s_tir.meta_schedule.measure_callback import MeasureCallback

    return list(MeasureCallback.create("default"))


def run_tune_tir(
    mod: Any,
    target: Any,
    work_dir: str | Path,
    *,
    max_trials: int,
    num_trials_per_iter: int,
    strategy: Any,
    builder: Any = "local",
    runner: Any = "local",
    measure_callbacks: Sequence[Any] | None = None,
    cost_model: Any = "xgb",
    seed: int | None = None,
    quiet: bool = False,
) -> Any:
    """``ms.tune_tir`` with this package's conventions; returns the database.

    Parameters
    ----------
    mod, target, work_dir, max_trials, num_trials_per_iter, strategy, builder, runner, cost_model,
    seed
        As for ``ms.tune_tir`` (``max_trials`` is its ``max_trials_global``).
    measure_callbacks : Sequence | None
        Defaults to :func:`default_callbacks`; pass them wrapped or extended to observe a run.
    quiet : bool
        MetaSchedule's console at WARNING during the run (:func:`quiet_console`).
    """
    from tvm.s_tir import meta_schedule as ms

    Path(work_dir).mkdir(parents=True, exist_ok=True)
    callbacks = default_callbacks() if measure_callbacks is None else list(measure_callbacks)
    with quiet_console(quiet):
        return ms.tune_tir(
            mod,
            target,
            str(work_dir),
            max_trials_global=max_trials,
            num_trials_per_iter=num_trials_per_iter,
            builder=builder,
            runner=runner,
            measure_callbacks=callbacks,
            cost_model=cost_model,
            strategy=strategy,
            seed=seed,
        )
