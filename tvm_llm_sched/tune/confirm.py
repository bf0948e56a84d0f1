"""Confirming the best program: re-time the fastest verified records side by side.

A record's latency is one measurement, and the database's best is the minimum over every trial,
so it favours programs whose time depends on the run: on a shared 2-core machine a program was
recorded at 92 us and re-timed between 110 and 214 us (median 180), while the third-fastest record
re-timed steadily at 121 us (``BENCHMARKS.md``, "the best record that did not re-time").
Re-timing the few fastest verified records in interleaved rounds and keeping the lowest median
returns the program that is fastest when run again.
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import Any

from ..measure.timing import EvaluatorSettings, retime_interleaved


@dataclasses.dataclass(frozen=True, kw_only=True)
class Confirmation:
    """How the confirmed program re-timed, and what it was chosen over.

    Attributes
    ----------
    rank : int
        Its place among the records by recorded latency (0: the database's best record).
    recorded_us : float
        Its recorded latency (one measurement while tuning).
    median_us, fastest_us, slowest_us : float
        Median, fastest and slowest of its re-timed rounds.
    first_median_us : float
        The database's best record re-timed (median), for comparison.
    candidates : int
        How many verified records were re-timed.
    rounds : int
        Interleaved rounds each was timed in.
    """

    rank: int
    recorded_us: float
    median_us: float
    fastest_us: float
    slowest_us: float
    first_median_us: float
    candidates: int
    rounds: int


def confirm_fastest(
    schedules: list[Any],
    recorded_us: list[float],
    target: Any,
    *,
    rounds: int = 3,
    settings: EvaluatorSettings | None = None,
) -> Confirmation:
    """Re-time ``schedules`` (the fastest verified records, fastest recorded first) round-robin
    and return which has the lowest median.

    Parameters
    ----------
    schedules : list of tvm.s_tir.Schedule
        Programs in the order of their recorded latency.
    recorded_us : list of float
        Their recorded latencies, in the same order.
    target : tvm.target.Target
        Target to build them for (the one they were tuned for).
    rounds : int
        Interleaved timing rounds; ties in the median go to the better recorded program.
    settings : EvaluatorSettings | None
        Timing settings; MetaSchedule's runner defaults when None.

    Raises
    ------
    ValueError
        If no schedule is given, the lists differ in length, or ``rounds`` < 1.
    """
    if not schedules or len(schedules) != len(recorded_us):
        raise ValueError("confirm_fastest needs one recorded latency per schedule, at least one")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    times = retime_interleaved(
        {str(i): sch.mod for i, sch in enumerate(schedules)}, target, rounds, settings
    )
    medians = [statistics.median(times[str(i)]) for i in range(len(schedules))]
    rank = min(range(len(schedules)), key=lambda i: (medians[i], i))
    return Confirmation(
        rank=rank,
        recorded_us=recorded_us[rank],
        median_us=medians[rank],
        fastest_us=min(times[str(rank)]),
        slowest_us=max(times[str(rank)]),
        first_median_us=medians[0],
        candidates=len(schedules),
        rounds=rounds,
    )
