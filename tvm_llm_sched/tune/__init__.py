"""Tune one workload end to end: strategy, progress bar, verified best schedule, summary."""

from .progress import ProgressCallback
from .recording import RunManifest
from .run import STRATEGIES, TuneResult, best_verified, make_strategy, tune_workload

__all__ = [
    "STRATEGIES",
    "ProgressCallback",
    "RunManifest",
    "TuneResult",
    "best_verified",
    "make_strategy",
    "tune_workload",
]
