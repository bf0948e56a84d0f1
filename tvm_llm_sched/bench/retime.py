"""Re-time the best program each tuning run returned, the same way for every strategy.

A run's "best latency" is the minimum over its trials of one noisy measurement each, so a run
that measures many near-equal programs reports a luckier minimum than one that measures few.
Re-timing each run's best program several times, interleaved across runs, compares the programs
themselves.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..measure.latency import latency_us
from ..measure.timing import retime_interleaved

__all__ = ["BestProgram", "best_program", "retime_interleaved"]


@dataclasses.dataclass(frozen=True)
class BestProgram:
    """The best measured program of one tuning work dir.

    Attributes
    ----------
    mod : tvm.IRModule
        The scheduled program (the best record's trace applied to the workload).
    recorded_us : float
        Its latency as measured during tuning (mean of the record's run seconds).
    """

    mod: Any
    recorded_us: float


def best_program(work_dir: str | Path, workload_mod: Any) -> BestProgram:
    """The fastest record of a MetaSchedule JSON database, applied to ``workload_mod``.

    Raises
    ------
    ValueError
        If the database has no successfully measured record.
    """
    import tvm
    from tvm.s_tir import meta_schedule as ms

    database = ms.database.JSONDatabase(work_dir=str(work_dir), module_equality="structural")
    # The database's own ranking (mean run seconds, failed runs left out).
    top = (
        database.get_top_k(database.commit_workload(workload_mod), 1)
        if database.has_workload(workload_mod)
        else []
    )
    if not top:
        raise ValueError(f"{work_dir}: no measured tuning record")
    record = top[0]
    sch = tvm.s_tir.Schedule(workload_mod)
    record.trace.apply_to_schedule(sch, remove_postproc=False)
    return BestProgram(mod=sch.mod, recorded_us=latency_us(record))
