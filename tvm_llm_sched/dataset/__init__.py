"""Step-level training data regenerated from MetaSchedule tuning databases.

``build_dataset(work_dirs, out)`` turns the records of any work dirs (and the lineage an
LLMGuidedSearch run writes beside them) into replay-checked :class:`Sample` objects and writes
them in the formats our proposer and common trainers read (``chat``, ``steptp``, ``pairs``), with a
dataset card. ``verify_dataset`` replays every sample again; ``dataset_stats`` summarises one.
"""

from .build import SAMPLES_FILE, WORKLOADS_FILE, DatasetConfig, DatasetReport, build_dataset
from .formats import FORMATS
from .sample import End, Sample, replay_check
from .verify import VerifyReport, dataset_stats, load_samples, verify_dataset

__all__ = [
    "FORMATS",
    "SAMPLES_FILE",
    "WORKLOADS_FILE",
    "DatasetConfig",
    "DatasetReport",
    "End",
    "Sample",
    "VerifyReport",
    "build_dataset",
    "dataset_stats",
    "load_samples",
    "replay_check",
    "verify_dataset",
]
