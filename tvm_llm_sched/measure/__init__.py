"""Measurements: the one latency rule, timing a program, and record/replay of a tuning run.

:func:`latency_us` turns MetaSchedule's ``run_secs`` into a latency (the only place that does);
:func:`time_unscheduled` times a workload as written; :func:`retime_interleaved` times programs side
by side.

:func:`recording_measurer` wraps MetaSchedule's builder and runner and writes every result to a
:class:`MeasurementStore`; :func:`replaying_measurer` answers from it instead of compiling and
timing, so a run whose proposer replies are replayed too (``create("replay", ...)``) takes the same
path again.
"""

from .latency import FAILED_RUN_SECS, latency_us
from .recording import (
    RecordingMeasurer,
    ReplayMeasurer,
    recording_measurer,
    replaying_measurer,
)
from .store import Measurement, MeasurementStore, module_key
from .timing import (
    EvaluatorSettings,
    ModuleTimer,
    retime_interleaved,
    time_module,
    time_unscheduled,
)

__all__ = [
    "FAILED_RUN_SECS",
    "EvaluatorSettings",
    "ModuleTimer",
    "Measurement",
    "MeasurementStore",
    "RecordingMeasurer",
    "ReplayMeasurer",
    "module_key",
    "recording_measurer",
    "latency_us",
    "replaying_measurer",
    "retime_interleaved",
    "time_module",
    "time_unscheduled",
]
