"""Where each measured candidate of an LLMGuidedSearch run came from, next to TVM's files.

MetaSchedule's JSON database keeps what was measured, not how it was made. LLMGuidedSearch adds
two append-only JSON-lines side files to the work dir, which stock TVM ignores:

- ``llm_sched_lineage.jsonl``: one line per measured candidate: its record's key, its parent
  record's key (``null`` for a design-space sample), the steps applied to the parent (proposer
  steps in the step language), the mutator that made it, its source, its latency or error;
- ``llm_sched_situations.jsonl``: one line per proposer call: the :class:`Situation` the proposer
  was shown, the ``k`` it was asked for and the steps it answered, so a training prompt can be the
  very prompt the search sent (train/serve parity).

A record's key is a hash of its trace as the database stores it (:func:`trace_key`), computed the
same way from a live trace and from a line of ``database_tuning_record.json``; it does not depend
on line numbers, so a resumed run keeps appending and old lines stay valid. Lines are written whole
and flushed per batch; a torn last line (a killed run) is skipped and counted by the readers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger("tvm_llm_sched.database")

LINEAGE_FILE = "llm_sched_lineage.jsonl"
SITUATION_FILE = "llm_sched_situations.jsonl"
LINEAGE_VERSION = 1
_FLOAT_DIGITS = 9  # C++ and Python print a categorical's probabilities with different digits
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def plain_json(value: Any) -> Any:
    """A TVM FFI JSON-like value (``Trace.as_json()``) as plain Python lists, dicts and scalars."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value if not isinstance(value, str) else str(value)
    if hasattr(value, "value") and isinstance(value.value, (int, float)):  # IntImm, FloatImm
        return value.value
    if isinstance(value, Mapping) or hasattr(value, "items"):
        return {str(k): plain_json(v) for k, v in value.items()}
    return [plain_json(v) for v in value]


def _canonical(value: Any) -> Any:
    if isinstance(value, bool):  # the database writes a trace's booleans as 0 and 1
        return int(value)
    if isinstance(value, float):
        return float(f"{value:.{_FLOAT_DIGITS}g}")
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def trace_key(trace_json: Any) -> str:
    """The key of a tuning record: a hash of its trace's JSON (``[insts, decisions]``).

    Parameters
    ----------
    trace_json : Any
        ``Trace.as_json()`` (FFI objects are converted) or the first element of a record line of
        ``database_tuning_record.json`` (plain JSON).

    Examples
    --------
    >>> trace_key([[["GetSBlock", [], ["Z", "main"], ["b0"]]], []])
    'f4b48c0c31c6b2db'
    """
    text = json.dumps(_canonical(plain_json(trace_json)), separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LineageEntry:
    """How one measured candidate was made.

    Attributes
    ----------
    workload : str
        The workload's structural hash as the database writes it (first field of its line).
    record : str
        :func:`trace_key` of the candidate's record.
    source : str
        ``proposer``, ``mutation`` or ``sampling``.
    parent : str | None
        Key of the measured record it was made from; ``None`` for a design-space sample.
    parent_trace : Any
        The unmeasured parent's trace JSON (a sampled design space a proposer chain started
        from), else ``None``.
    steps : tuple[str, ...]
        Proposer steps applied to the parent, in text form.
    mutator : str | None
        The MetaSchedule mutator that made it (source ``mutation``).
    latency_us : float | None
        Measured latency; ``None`` when building or running failed (``error`` says why).
    error : str | None
        The build or run error.
    """

    workload: str
    record: str
    source: str
    parent: str | None = None
    parent_trace: Any = None
    steps: tuple[str, ...] = ()
    mutator: str | None = None
    latency_us: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The side-file line (``v`` is the format version)."""
        out = {"v": LINEAGE_VERSION, **dataclasses.asdict(self)}
        out["steps"] = list(self.steps)
        return out

    @classmethod
    def from_json(cls, data: Any) -> LineageEntry:
        """Inverse of :meth:`to_json`; raises ValueError for anything else."""
        if not isinstance(data, dict) or data.get("v") != LINEAGE_VERSION:
            raise ValueError("not a lineage line of this version")
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        if not isinstance(values.get("steps", []), list):
            raise ValueError("lineage steps must be a list")
        values["steps"] = tuple(str(s) for s in values.get("steps", ()))
        try:
            entry = cls(**values)
        except TypeError as exc:
            raise ValueError(f"not a lineage line: {exc}") from None
        if not isinstance(entry.record, str) or not isinstance(entry.workload, str):
            raise ValueError("a lineage line needs string record and workload keys")
        texts = (entry.source, entry.parent, entry.mutator, entry.error)
        if not isinstance(entry.source, str) or not all(isinstance(t, str | None) for t in texts):
            raise ValueError("a lineage line's source, parent, mutator and error are strings")
        if entry.latency_us is not None and not isinstance(entry.latency_us, int | float):
            raise ValueError("a lineage line's latency is a number")
        trace = entry.parent_trace
        if trace is not None and not (
            isinstance(trace, list)
            and len(trace) == 2
            and all(isinstance(part, list) for part in trace)
        ):
            raise ValueError("a lineage line's parent trace is [instructions, decisions]")
        return entry


@dataclasses.dataclass(frozen=True, kw_only=True)
class AskedSituation:
    """One proposer call: what it was shown (``situation``, JSON), ``k``, and its answer."""

    workload: str
    situation: dict[str, Any]
    k: int
    proposed: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The side-file line."""
        return {"v": LINEAGE_VERSION, **dataclasses.asdict(self), "proposed": list(self.proposed)}

    @classmethod
    def from_json(cls, data: Any) -> AskedSituation:
        """Inverse of :meth:`to_json`; raises ValueError for anything else."""
        if not isinstance(data, dict) or data.get("v") != LINEAGE_VERSION:
            raise ValueError("not a situation line of this version")
        situation, k, proposed = data.get("situation"), data.get("k"), data.get("proposed")
        if not isinstance(situation, dict) or not isinstance(k, int) or k < 1:
            raise ValueError("a situation line needs a situation object and k >= 1")
        if not isinstance(proposed, list) or not isinstance(data.get("workload"), str):
            raise ValueError("a situation line needs a workload key and a list of steps")
        return cls(
            workload=data["workload"],
            situation=situation,
            k=k,
            proposed=tuple(str(s) for s in proposed),
        )


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path.resolve(), threading.Lock())


def _append(path: Path, lines: Iterable[dict[str, Any]]) -> None:
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    if not text:
        return
    # Tasks of one Relax tuning run share the work dir: one whole write per batch, under a lock.
    with _lock(path), path.open("a", encoding="utf-8") as out:
        out.write(text)
        out.flush()


class LineageWriter:
    """Appends one task's lineage and asked situations to a work dir.

    Parameters
    ----------
    work_dir : str | Path
        The work dir of the JSON database.
    workload : str
        The task's workload key (:func:`workload_key`).
    """

    def __init__(self, work_dir: str | Path, workload: str):
        self.work_dir = Path(work_dir)
        self.workload = workload
        self.failed = False

    @classmethod
    def for_database(cls, database: Any, workload: Any) -> LineageWriter | None:
        """The writer for a JSON database's work dir; ``None`` for any other database."""
        path = getattr(database, "path_tuning_record", None)
        if not path or workload is None:
            return None
        return cls(Path(str(path)).parent, workload_key(workload))

    def _write(self, name: str, lines: Sequence[dict[str, Any]]) -> None:
        try:
            _append(self.work_dir / name, lines)
        except OSError as exc:  # the side file is a nicety: tuning goes on without it
            if not self.failed:
                logger.warning("cannot write %s in %s: %s", name, self.work_dir, exc)
            self.failed = True

    def measured(self, entries: Sequence[LineageEntry]) -> None:
        """Append the lineage of one measured batch."""
        self._write(LINEAGE_FILE, [e.to_json() for e in entries])

    def asked(self, situation: Any, k: int, proposed: Sequence[Any]) -> None:
        """Append one proposer call (a :class:`Situation`, ``k``, the steps it answered).
        Never raises: the journal must not end a tuning run."""
        try:
            self._asked(situation, k, proposed)
        except Exception:  # a situation that does not serialise is a bug, but not a fatal one
            if not self.failed:
                logger.warning("cannot record a proposer call in %s", self.work_dir, exc_info=True)
            self.failed = True

    def _asked(self, situation: Any, k: int, proposed: Sequence[Any]) -> None:
        line = AskedSituation(
            workload=self.workload,
            situation=situation.to_json(),
            k=k,
            proposed=tuple(str(s) for s in proposed),
        )
        self._write(SITUATION_FILE, [line.to_json()])


def workload_key(workload: Any) -> str:
    """The key a database gives a workload (a ``ms.database.Workload``): its structural hash."""
    return str(workload.as_json()[0])


@dataclasses.dataclass
class SideFile:
    """The readable lines of one side file, and how many lines were not."""

    entries: list[Any]
    malformed: int = 0
    missing: bool = False


def _read(path: Path, parse: Any) -> SideFile:
    if not path.exists():
        return SideFile(entries=[], missing=True)
    out = SideFile(entries=[])
    for line in _iter_lines(path):
        try:
            out.entries.append(parse(json.loads(line)))
        except ValueError:  # a torn or foreign line: counted, never fatal
            out.malformed += 1
    return out


def _iter_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.strip():
                yield line


def read_lineage(work_dir: str | Path) -> SideFile:
    """The :class:`LineageEntry` lines of a work dir (``missing`` when it has no side file)."""
    return _read(Path(work_dir) / LINEAGE_FILE, LineageEntry.from_json)


def read_situations(work_dir: str | Path) -> SideFile:
    """The :class:`AskedSituation` lines of a work dir."""
    return _read(Path(work_dir) / SITUATION_FILE, AskedSituation.from_json)
