"""MetaSchedule work dirs on disk: repairing a JSON database that a killed process left torn."""

from .repair import RECORD_FILE, SIDE_SUFFIX, WORKLOAD_FILE, RepairReport, repair_work_dir

__all__ = ["RECORD_FILE", "SIDE_SUFFIX", "WORKLOAD_FILE", "RepairReport", "repair_work_dir"]
