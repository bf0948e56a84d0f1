"""Workloads to tune: MetaSchedule's standard operator benchmarks or a user's TVMScript file."""

from .spec import Workload, load_workload, standard_workload_names

__all__ = ["Workload", "load_workload", "standard_workload_names"]
