"""Reading a MetaSchedule work dir for the dataset builder, without changing a byte of it.

A work dir holds TVM's two JSON-lines files (``database_workload.json``: ``[shash, module]`` per
line; ``database_tuning_record.json``: ``[workload line, [trace, run_secs, target, args]]`` per
line, in measurement order) and, for LLMGuidedSearch runs, the lineage side files
(:mod:`tvm_llm_sched.database.lineage`). Every line that cannot be used is counted in
:class:`ReadCounts` and skipped: a torn or malformed line, a record pointing at a missing
workload. TVM objects (modules, traces, targets) are decoded lazily and once.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Any

from ..database.lineage import (
    AskedSituation,
    LineageEntry,
    read_lineage,
    read_situations,
    trace_key,
)
from ..database.repair import RECORD_FILE, WORKLOAD_FILE
from ..errors import DatasetError
from ..measure.latency import latency_us


@dataclasses.dataclass(frozen=True)
class RecordLine:
    """One tuning record of a work dir.

    Attributes
    ----------
    line : int
        1-based line number in ``database_tuning_record.json`` (measurement order).
    workload : int
        Index of its workload line.
    key : str
        :func:`~tvm_llm_sched.database.lineage.trace_key` of its trace.
    trace_json : Any
        The trace as stored (``[insts, decisions]``).
    target_json : Any
        The target as stored.
    latency_us : float | None
        Mean latency; ``None`` for a failed build or run.
    """

    line: int
    workload: int
    key: str
    trace_json: Any
    target_json: Any
    latency_us: float | None


class WorkloadEntry:
    """One workload line: its key (structural hash) and, decoded on first use, its module."""

    def __init__(self, key: str, line: Any):
        self.key = key
        self._line = line

    @cached_property
    def mod(self) -> Any:
        """The workload's ``tvm.IRModule``."""
        from tvm.s_tir.meta_schedule.database import Workload

        return Workload.from_json(self._line).mod

    @cached_property
    def database_workload(self) -> Any:
        """The ``ms.database.Workload`` (for decoding records)."""
        from tvm.s_tir.meta_schedule.database import Workload

        return Workload.from_json(self._line)

    @property
    def line(self) -> Any:
        """The workload line as stored (what the dataset writes to ``workloads.jsonl``)."""
        return self._line


@dataclasses.dataclass
class ReadCounts:
    """What a work dir held and what was skipped, by reason."""

    records: int = 0
    workloads: int = 0
    skipped: Counter = dataclasses.field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """Plain counts (``dataclasses.asdict`` would rebuild the Counter from its items)."""
        return {"records": self.records, "workloads": self.workloads, "skipped": dict(self.skipped)}

    def merge(self, other: ReadCounts) -> None:
        """Add ``other``'s counts to these."""
        self.records += other.records
        self.workloads += other.workloads
        self.skipped.update(other.skipped)


def _json_lines(path: Path) -> list[tuple[int, Any]]:
    """(1-based line number, parsed value or None if the line is not JSON) for a file's lines."""
    out = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                out.append((number, json.loads(line)))
            except ValueError:
                out.append((number, None))
    return out


class WorkDir:
    """A MetaSchedule JSON work dir, read once.

    Parameters
    ----------
    path : str | os.PathLike
        A directory holding ``database_workload.json`` and ``database_tuning_record.json``.

    Raises
    ------
    DatasetError
        The directory holds no workload file or no record file.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        workload_file, record_file = self.path / WORKLOAD_FILE, self.path / RECORD_FILE
        if not workload_file.is_file() or not record_file.is_file():
            raise DatasetError(
                f"{self.path} is not a MetaSchedule work dir (it needs {WORKLOAD_FILE} and "
                f"{RECORD_FILE})"
            )
        self.counts = ReadCounts()
        self.workloads: list[WorkloadEntry | None] = []
        for _, value in _json_lines(workload_file):
            shaped = isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            self.workloads.append(WorkloadEntry(value[0], value) if shaped else None)
            if not shaped:
                self.counts.skipped["malformed workload line"] += 1
        self.counts.workloads = sum(w is not None for w in self.workloads)
        self.records: list[RecordLine] = []
        for number, value in _json_lines(record_file):
            record = self._record(number, value)
            if record is not None:
                self.records.append(record)
        self.counts.records = len(self.records)
        lineage, situations = read_lineage(self.path), read_situations(self.path)
        self.lineage: list[LineageEntry] = lineage.entries
        self.situations: list[AskedSituation] = situations.entries
        self.has_lineage = not lineage.missing
        if lineage.malformed:
            self.counts.skipped["malformed lineage line"] += lineage.malformed
        if situations.malformed:
            self.counts.skipped["malformed situation line"] += situations.malformed

    def _record(self, number: int, value: Any) -> RecordLine | None:
        try:
            index, (trace_json, run_secs, target_json, _args) = value
            if not isinstance(index, int) or not _trace_shaped(trace_json):
                raise TypeError
            if not isinstance(target_json, (str, dict)) or not isinstance(run_secs, list):
                raise TypeError
        except (TypeError, ValueError):
            self.counts.skipped["malformed record line"] += 1
            return None
        if not 0 <= index < len(self.workloads) or self.workloads[index] is None:
            self.counts.skipped["record of a missing workload"] += 1
            return None
        try:
            latency = latency_us(_RunSecs(run_secs))
        except (TypeError, ValueError):
            self.counts.skipped["malformed record line"] += 1
            return None
        return RecordLine(
            line=number,
            workload=index,
            key=trace_key(trace_json),
            trace_json=trace_json,
            target_json=target_json,
            latency_us=latency,
        )

    def __repr__(self) -> str:
        return f"WorkDir({str(self.path)!r}, {len(self.records)} records)"


def _trace_shaped(trace_json: Any) -> bool:
    """Whether a value looks like a stored trace: ``[[inst, ...], [[index, value], ...]]`` with
    every instruction ``[kind, inputs, attrs, outputs]``."""
    if not isinstance(trace_json, list) or len(trace_json) != 2:
        return False
    insts, decisions = trace_json
    if not isinstance(insts, list) or not isinstance(decisions, list):
        return False
    insts_ok = all(
        isinstance(i, list)
        and len(i) >= 4
        and isinstance(i[0], str)
        and all(isinstance(part, list) for part in i[1:4])
        for i in insts
    )
    decisions_ok = all(
        isinstance(d, list) and len(d) == 2 and isinstance(d[0], int) and 0 <= d[0] < len(insts)
        for d in decisions
    )
    return insts_ok and decisions_ok


@dataclasses.dataclass(frozen=True)
class _RunSecs:
    run_secs: list[float] | None
