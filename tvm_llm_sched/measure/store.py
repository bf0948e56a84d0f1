"""An append-only file of measurements, addressed by the measured module's structural hash."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("tvm_llm_sched.measure")

FORMAT_VERSION = 1


def module_key(mod: Any) -> str:
    """The store key of a module to build: its structural hash as 16 hex digits.

    Structurally equal modules (the same candidate reached by two routes) share a key, like
    MetaSchedule's own database module equality.
    """
    import tvm_ffi

    return f"{tvm_ffi.structural_hash(mod) & ((1 << 64) - 1):016x}"


@dataclass(frozen=True)
class Measurement:
    """One recorded measurement.

    Attributes
    ----------
    key : str
        :func:`module_key` of the built module.
    run_secs : tuple[float, ...] | None
        The runner's repeat timings; None when the build or the run failed.
    build_error : str | None
        The builder's error message (the candidate never ran).
    run_error : str | None
        The runner's error message.
    """

    key: str
    run_secs: tuple[float, ...] | None = None
    build_error: str | None = None
    run_error: str | None = None

    def to_json(self) -> str:
        """One JSON line (no trailing newline)."""
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "key": self.key,
                "run_secs": list(self.run_secs) if self.run_secs is not None else None,
                "build_error": self.build_error,
                "run_error": self.run_error,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, line: str) -> Measurement:
        """Parse one line of :meth:`to_json`.

        Raises
        ------
        ValueError
            The line is not JSON or not a measurement of this format.
        """
        entry = json.loads(line)
        if not isinstance(entry, dict) or entry.get("format") != FORMAT_VERSION:
            raise ValueError("not a measurement line of format 1")
        key, secs = entry.get("key"), entry.get("run_secs")
        if not isinstance(key, str) or not key:
            raise ValueError("measurement without a key")
        if secs is not None:
            if not isinstance(secs, list) or not all(isinstance(s, (int, float)) for s in secs):
                raise ValueError("run_secs is not a list of numbers")
            if not all(math.isfinite(s) for s in secs):
                raise ValueError("run_secs holds a non-finite number")
            secs = tuple(float(s) for s in secs)
        for name in ("build_error", "run_error"):
            if entry.get(name) is not None and not isinstance(entry[name], str):
                raise ValueError(f"{name} is not a string")
        return cls(
            key=key,
            run_secs=secs,
            build_error=entry.get("build_error"),
            run_error=entry.get("run_error"),
        )


class MeasurementStore:
    """Measurements of one tuning run in ``root/measurements.jsonl``, one JSON line each.

    Lines are appended and flushed as results arrive, so a killed run keeps everything measured
    before. A line that does not parse (a torn last line, a hand edit) is skipped with a warning
    naming the file and line; the lines around it still load. A key measured more than once keeps
    every line in order: :meth:`get` answers the latest, :meth:`history` all of them.

    Parameters
    ----------
    root : str | os.PathLike
        The directory (created on first write); usually the same directory as the chat recording
        of the run, so one path replays both sides.
    """

    FILE_NAME = "measurements.jsonl"

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.path = self.root / self.FILE_NAME
        self._lock = threading.Lock()
        self._entries: dict[str, list[Measurement]] | None = None
        self._torn = False

    def __repr__(self) -> str:
        return f"MeasurementStore({str(self.root)!r})"

    def _load(self) -> dict[str, list[Measurement]]:
        if self._entries is None:
            entries: dict[str, list[Measurement]] = {}
            if self.path.exists():
                with self.path.open(encoding="utf-8") as handle:
                    for number, line in enumerate(handle, start=1):
                        if not line.strip():
                            continue
                        try:
                            measurement = Measurement.from_json(line)
                        except ValueError as exc:
                            logger.warning("skipping %s line %d: %s", self.path, number, exc)
                            continue
                        entries.setdefault(measurement.key, []).append(measurement)
            self._entries = entries
            # A torn last line (a killed run) must not swallow the next appended line.
            data = self.path.read_bytes() if self.path.exists() else b""
            self._torn = bool(data) and not data.endswith(b"\n")
        return self._entries

    def put(self, measurement: Measurement) -> None:
        """Append ``measurement`` (thread-safe; flushed before returning)."""
        with self._lock:
            entries = self._load()
            self.root.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(("\n" if self._torn else "") + measurement.to_json() + "\n")
                self._torn = False
                handle.flush()
            entries.setdefault(measurement.key, []).append(measurement)

    def get(self, key: str) -> Measurement | None:
        """The latest measurement recorded under ``key``, or None."""
        history = self.history(key)
        return history[-1] if history else None

    def history(self, key: str) -> tuple[Measurement, ...]:
        """Every measurement recorded under ``key``, oldest first (empty if none)."""
        with self._lock:
            return tuple(self._load().get(key, ()))

    def __len__(self) -> int:
        """The number of measurements (a key measured twice counts twice)."""
        with self._lock:
            return sum(len(history) for history in self._load().values())
