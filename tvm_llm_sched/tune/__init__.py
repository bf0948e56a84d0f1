"""Tune one workload end to end: strategy, progress bar, verified best schedule, summary."""

from .confirm import Confirmation, confirm_fastest
from .driver import run_tune_tir
from .progress import ProgressCallback
from .recording import RunManifest
from .run import TuneResult, best_verified, fastest_verified, rpc_runner, tune_workload

__all__ = [
    "Confirmation",
    "ProgressCallback",
    "RunManifest",
    "TuneResult",
    "best_verified",
    "confirm_fastest",
    "fastest_verified",
    "rpc_runner",
    "run_tune_tir",
    "tune_workload",
]
