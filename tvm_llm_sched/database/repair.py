"""Repair a MetaSchedule JSON work dir whose files end in a torn write.

MetaSchedule's ``JSONDatabase`` appends one JSON line per workload (``database_workload.json``)
and per tuning record (``database_tuning_record.json``). A process killed while appending leaves a
partial last line, and then TVM cannot open the work dir at all (``parallel_for_dynamic error with
Unexpected token``): every complete record in it becomes unusable.

:func:`repair_work_dir` keeps every complete line byte for byte, moves the bad bytes (a partial
line, a line that is not JSON or not shaped like a workload or record, a record whose workload is
gone) to a side file next to the file they came from (``<file>.torn``, appended to, never
overwritten), and says so in one warning. When only the tail is bad the file is truncated; a bad
line in the middle of the records makes the file be rewritten from its good lines (atomically).
A bad workload line that is not the last one cannot be moved (records refer to workloads by line
number), so that raises :class:`~tvm_llm_sched.errors.DatabaseRecordError` and changes nothing.

TVM opens the database inside ``ms.tune_tir`` (no strategy hook runs first), and
``relax.transform.MetaScheduleApplyDatabase`` reopens it in C++, so the repair runs where this
package opens a work dir first: ``tvm-llm-sched tune``, :func:`~tvm_llm_sched.tune.tune_workload`,
and this function for a user's own script, called before TVM is given the work dir.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from pathlib import Path

from ..errors import DatabaseRecordError

logger = logging.getLogger("tvm_llm_sched.database")

WORKLOAD_FILE = "database_workload.json"
RECORD_FILE = "database_tuning_record.json"
SIDE_SUFFIX = ".torn"


@dataclasses.dataclass(frozen=True)
class RepairReport:
    """What :func:`repair_work_dir` did.

    Attributes
    ----------
    work_dir : Path
        The work dir.
    workloads, records : int
        Complete workload and record lines kept.
    moved : dict[str, int]
        File name -> bad lines moved to its side file.
    side_files : tuple[Path, ...]
        The side files written to.
    """

    work_dir: Path
    workloads: int
    records: int
    moved: dict[str, int]
    side_files: tuple[Path, ...]

    @property
    def repaired(self) -> bool:
        """Whether anything was moved."""
        return bool(self.side_files)


def _lines(data: bytes) -> list[bytes]:
    """The file's lines, each with its ``\n``; a last line without one is kept as it is."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


def _shaped(line: bytes, what: str) -> object | None:
    """The parsed line if it is a ``[a, b]`` JSON pair (a workload or a record), else None."""
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, list) or len(value) != 2:
        return None
    if what == "record" and not (isinstance(value[0], int) and isinstance(value[1], list)):
        return None
    return value


def _split(path: Path, what: str, workloads: int | None) -> tuple[list[bytes], list[int]]:
    """(lines, indices of the bad ones) of a database file."""
    lines = _lines(path.read_bytes()) if path.exists() else []
    bad = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue  # blank lines are skipped by TVM's reader too
        value = _shaped(line, what)  # a torn line does not parse: None
        out_of_range = (
            what == "record"
            and value is not None
            and workloads is not None
            and not 0 <= value[0] < workloads  # type: ignore[index]
        )
        if value is None or out_of_range:
            bad.append(index)
    return lines, bad


def _move(path: Path, lines: list[bytes], bad: list[int]) -> Path:
    """Append the bad lines to the side file, then keep the good ones in ``path``."""
    side = path.with_name(path.name + SIDE_SUFFIX)
    with side.open("ab") as out:
        out.write(b"".join(lines[i] for i in bad))
    dropped = set(bad)
    keep = [line for i, line in enumerate(lines) if i not in dropped]
    if bad == list(range(len(lines) - len(bad), len(lines))):
        # Only the tail was bad (the usual torn append): cut it off, touch nothing else.
        os.truncate(path, sum(len(line) for line in keep))
        return side
    if keep and not keep[-1].endswith(b"\n"):
        keep[-1] += b"\n"  # complete but unterminated: end it so the next append is a new line
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    with os.fdopen(fd, "wb") as out:
        out.write(b"".join(keep))
    os.replace(tmp, path)
    return side


def repair_work_dir(work_dir: str | os.PathLike[str]) -> RepairReport:
    """Make a MetaSchedule JSON work dir loadable again after a torn write; see the module doc.

    Parameters
    ----------
    work_dir : str | PathLike
        A directory holding ``database_workload.json`` and ``database_tuning_record.json`` (either
        may be missing; a missing work dir is left alone).

    Returns
    -------
    RepairReport

    Raises
    ------
    DatabaseRecordError
        A workload line other than the last is broken (moving it would renumber the workloads
        the records point to); nothing is changed.

    Examples
    --------
    >>> report = repair_work_dir("work_dirs/GMM_1-llm")  # doctest: +SKIP
    >>> report.records, report.moved                      # doctest: +SKIP
    (64, {'database_tuning_record.json': 1})
    """
    root = Path(work_dir)
    workload_path, record_path = root / WORKLOAD_FILE, root / RECORD_FILE
    workload_lines, bad_workloads = _split(workload_path, "workload", None)
    if any(i != len(workload_lines) - 1 for i in bad_workloads):
        first = min(bad_workloads) + 1
        raise DatabaseRecordError(
            "a broken workload line before the last one cannot be moved (records refer to "
            "workloads by line number); fix or remove it by hand",
            path=str(workload_path),
            line=first,
        )
    workloads = sum(1 for line in workload_lines if line.strip()) - len(bad_workloads)
    record_lines, bad_records = _split(record_path, "record", workloads)
    moved: dict[str, int] = {}
    sides: list[Path] = []
    for path, lines, bad in (
        (workload_path, workload_lines, bad_workloads),
        (record_path, record_lines, bad_records),
    ):
        needs_newline = bool(lines) and not lines[-1].endswith(b"\n") and not bad
        if bad:
            sides.append(_move(path, lines, bad))
            moved[path.name] = len(bad)
        elif needs_newline:  # complete but unterminated: end it so the next append is a new line
            with path.open("ab") as out:
                out.write(b"\n")
    records = sum(1 for line in record_lines if line.strip()) - len(bad_records)
    if sides:
        logger.warning(
            "%s: moved %s unreadable line(s) (a torn write?) to %s; kept %d complete records",
            root,
            sum(moved.values()),
            ", ".join(str(s) for s in sides),
            records,
        )
    return RepairReport(
        work_dir=root, workloads=workloads, records=records, moved=moved, side_files=tuple(sides)
    )
