"""Tuning-curve benchmarks: strategies side by side against NumPy and the hardware peak."""

from ..measure.timing import EvaluatorSettings
from .config import BenchConfig
from .harness import BenchResults, load_results, run_matrix, write_outputs
from .records import IterationRecord, References, RunRecord, TrialRecord
from .report import render_report, write_section
from .summary import BudgetPoint, read_at_budget, summary_rows, write_csv

__all__ = [
    "BenchConfig",
    "BenchResults",
    "BudgetPoint",
    "EvaluatorSettings",
    "IterationRecord",
    "References",
    "RunRecord",
    "TrialRecord",
    "load_results",
    "read_at_budget",
    "render_report",
    "run_matrix",
    "summary_rows",
    "write_csv",
    "write_outputs",
    "write_section",
]
