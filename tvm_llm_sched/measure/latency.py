"""The one rule that turns MetaSchedule's ``run_secs`` into a latency."""

from __future__ import annotations

import math
from typing import Any

FAILED_RUN_SECS = 1e10
"""What MetaSchedule's database stores as ``run_secs`` for a candidate that failed to build or run;
any time at or above a tenth of it is read as a failure, never as a latency."""


def latency_us(result: Any) -> float | None:
    """Mean latency in microseconds of a ``RunnerResult`` or ``TuningRecord``; ``None`` if it
    failed.

    A result failed when it carries an error message (runner results do; tuning records do not),
    reports no times, or any time is not a positive finite number below
    ``FAILED_RUN_SECS / 10``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> latency_us(SimpleNamespace(run_secs=[2e-6, 4e-6], error_msg=None))
    3.0
    >>> latency_us(SimpleNamespace(run_secs=[1e10])) is None
    True
    """
    if getattr(result, "error_msg", None):
        return None
    secs = [float(s) for s in (result.run_secs or [])]
    if not secs or any(not math.isfinite(s) or s <= 0 or s >= FAILED_RUN_SECS / 10 for s in secs):
        return None
    return 1e6 * sum(secs) / len(secs)
