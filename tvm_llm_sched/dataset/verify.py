"""Reading a built dataset back: its samples, a replay of every one, and a summary."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .build import SAMPLES_FILE, WORKLOADS_FILE
from .card import CARD_JSON
from .sample import Sample, replay_check


def load_samples(directory: str | Path) -> tuple[list[Sample], int]:
    """The samples of a dataset directory and the number of lines that are not samples.

    Raises
    ------
    DatasetError
        The directory has no ``samples.jsonl``.
    """
    path = Path(directory) / SAMPLES_FILE
    if not path.is_file():
        raise DatasetError(f"{directory} holds no {SAMPLES_FILE}: not a dataset directory")
    samples, malformed = [], 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                samples.append(Sample.from_json(json.loads(line)))
            except (ValueError, TypeError, AttributeError):
                malformed += 1
    return samples, malformed


def _workload_mods(directory: Path) -> dict[str, Any]:
    from tvm.s_tir.meta_schedule.database import Workload

    mods = {}
    path = directory / WORKLOADS_FILE
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                value = json.loads(line)
                mods[value[0]] = Workload.from_json(value).mod
            except (ValueError, IndexError, KeyError, TypeError, RuntimeError):
                continue
    return mods


@dataclasses.dataclass
class VerifyReport:
    """What :func:`verify_dataset` found: samples replayed, passed, and failures by reason."""

    samples: int
    passed: int
    malformed: int
    failures: Counter

    @property
    def rate(self) -> float:
        """Share of samples that pass (1.0 for an empty dataset)."""
        return self.passed / self.samples if self.samples else 1.0


def verify_dataset(
    directory: str | Path, *, progress: Callable[[int, int], None] | None = None
) -> VerifyReport:
    """Replay every sample of a dataset (before state + steps == after program)."""
    directory = Path(directory)
    samples, malformed = load_samples(directory)
    mods = _workload_mods(directory)
    failures: Counter = Counter()
    passed = 0
    for done, sample in enumerate(samples, 1):
        mod = mods.get(sample.workload_key)
        reason = (
            "its workload is not in workloads.jsonl" if mod is None else replay_check(sample, mod)
        )
        if reason is None:
            passed += 1
        else:
            failures[reason.split(":")[0]] += 1
        if progress is not None:
            progress(done, len(samples))
    return VerifyReport(samples=len(samples), passed=passed, malformed=malformed, failures=failures)


def dataset_stats(directory: str | Path) -> dict[str, Any]:
    """A dataset's card (``card.json``) plus counts read from its files."""
    directory = Path(directory)
    samples, malformed = load_samples(directory)
    card_path = directory / CARD_JSON
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    lines = {
        path.stem: sum(1 for line in path.open(encoding="utf-8", errors="replace") if line.strip())
        for path in sorted(directory.glob("*_*.jsonl"))
    }
    return {
        "samples": len(samples),
        "malformed_lines": malformed,
        "kinds": dict(Counter(s.kind for s in samples).most_common()),
        "splits": dict(Counter(s.split for s in samples)),
        "lines": lines,
        "card": card,
    }
