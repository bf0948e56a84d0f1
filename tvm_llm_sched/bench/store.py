"""The benchmark output directory: finished runs, partial runs, references, work dirs, lock.

Layout::

    out_dir/
      runs/<run_id>.json              one finished (workload, strategy, seed, budget) run
      runs/<run_id>.partial.jsonl     the run in progress: header line, then one line per iteration
      runs/<run_id>.attempt<N>.jsonl  what an interrupted attempt measured (kept, never resumed)
      references/<workload>.json      unscheduled / NumPy / peak
      work/<run_id>/                  ms.tune_tir's work_dir (database, logs)
      results.json, summary.csv, plots/*.png
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from .records import IterationRecord, References, RunRecord, write_json


class BenchStore:
    """Reads and writes one output directory.

    Parameters
    ----------
    out_dir : pathlib.Path
        Created on first write.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.runs_dir = self.out_dir / "runs"
        self.refs_dir = self.out_dir / "references"

    def run_path(self, run_id: str) -> Path:
        """Where a finished run is stored."""
        return self.runs_dir / f"{run_id}.json"

    def work_dir(self, run_id: str) -> Path:
        """ms.tune_tir's work_dir for a run."""
        return self.out_dir / "work" / run_id

    def load_run(self, run_id: str) -> RunRecord | None:
        """The finished run, or ``None``."""
        path = self.run_path(run_id)
        return RunRecord.from_json(json.loads(path.read_text())) if path.exists() else None

    def save_run(self, run: RunRecord) -> None:
        """Store a finished run and drop its partial file."""
        write_json(self.run_path(run.run_id), run.to_json())
        self._partial_path(run.run_id).unlink(missing_ok=True)

    def load_runs(self) -> list[RunRecord]:
        """Every finished run, in the order they started (the matrix order)."""
        runs = [
            RunRecord.from_json(json.loads(p.read_text())) for p in self.runs_dir.glob("*.json")
        ]
        return sorted(runs, key=lambda run: (run.started_at, run.run_id))

    def load_references(self) -> dict[str, References]:
        """References by workload name."""
        refs = [
            References.from_json(json.loads(p.read_text())) for p in self.refs_dir.glob("*.json")
        ]
        return {ref.workload: ref for ref in refs}

    def save_references(self, slug: str, refs: References) -> None:
        """Store a workload's references."""
        write_json(self.refs_dir / f"{slug}.json", refs.to_json())

    def _partial_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.partial.jsonl"

    def begin_attempt(self, run_id: str, header: dict) -> int:
        """Start a run from scratch: keep an interrupted attempt's file, wipe its work_dir.

        Returns
        -------
        int
            The attempt number (1 unless earlier attempts were interrupted).
        """
        partial = self._partial_path(run_id)
        attempt = 1 + len(list(self.runs_dir.glob(f"{run_id}.attempt*.jsonl")))
        if partial.exists():
            partial.replace(self.runs_dir / f"{run_id}.attempt{attempt}.jsonl")
            attempt += 1
        shutil.rmtree(self.work_dir(run_id), ignore_errors=True)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({**header, "attempt": attempt}) + "\n")
        return attempt

    def append_iteration(self, run_id: str, iteration: IterationRecord) -> None:
        """Add one finished iteration to the run's partial file (flushed at once)."""
        with self._partial_path(run_id).open("a") as handle:
            handle.write(json.dumps(iteration.to_json(), allow_nan=False) + "\n")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory for one benchmarking process.

        Raises
        ------
        FileExistsError
            If another live process holds it.
        """
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / ".lock"
        if path.exists():
            try:
                pid = int(path.read_text().strip())
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError):
                pass  # a stale lock left by a killed process
            except PermissionError:
                raise FileExistsError(f"{self.out_dir} is in use by process {pid}") from None
            else:
                if pid != os.getpid():
                    raise FileExistsError(
                        f"{self.out_dir} is in use by process {pid}; use --report-only to "
                        "summarize what it has finished"
                    )
        path.write_text(str(os.getpid()))
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
