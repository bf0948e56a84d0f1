"""Numerical verification of scheduled programs against their unscheduled reference."""

from .numeric import Verifier, verify
from .report import VerifyReport
from .tolerance import Tolerance, tolerance_for

__all__ = ["Tolerance", "VerifyReport", "Verifier", "tolerance_for", "verify"]
