"""Measurement record and replay: the runner's side of replaying a whole tuning run.

:func:`recording_measurer` wraps MetaSchedule's builder and runner and writes every result to a
:class:`MeasurementStore`; :func:`replaying_measurer` answers from it instead of compiling and
timing, so a run whose proposer replies are replayed too (``create("replay", ...)``) takes the same
path again.
"""

from .recording import (
    RecordingMeasurer,
    ReplayMeasurer,
    recording_measurer,
    replaying_measurer,
)
from .store import Measurement, MeasurementStore, module_key

__all__ = [
    "Measurement",
    "MeasurementStore",
    "RecordingMeasurer",
    "ReplayMeasurer",
    "module_key",
    "recording_measurer",
    "replaying_measurer",
]
