"""What a recorded tuning run needs to be replayed: its settings (``run.json``) and its stores.

A recording directory holds:

- ``run.json``: the :class:`RunManifest` (workload, strategy, budgets, seed, target, proposer);
- ``measurements.jsonl``: every build and run result
  (:class:`~tvm_llm_sched.measure.MeasurementStore`);
- ``chat/``: the model's exchanges, when the proposer is an LLM endpoint
  (:class:`~tvm_llm_sched.llm.RecordingStore`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from ..errors import DatabaseRecordError

FORMAT_VERSION = 1
CHAT_DIR = "chat"


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunManifest:
    """The settings that decide a tuning run's path.

    Attributes
    ----------
    workload : str | None
        The workload spec (``"GMM:1"`` or a file path); None for a module passed in memory.
    strategy : str
        ``"llm"``, ``"evolutionary"``, ...
    trials : int
        Trials measured.
    num_trials_per_iter : int
        Batch size.
    seed : int
        Seed of the strategy and MetaSchedule (a recorded run always has one).
    target : dict
        The target, as :func:`~tvm_llm_sched.hardware.target_to_dict` gives it.
    proposer : str
        ``"expert"`` (deterministic, nothing to record), ``"openai"`` or ``"local"`` (exchanges
        in ``chat/``) or the name of a proposer instance, which a replay must be given again.
    proposer_local : bool
        Whether the model ran on the recording machine (then the search took a local model's
        call budget and never asked it while measuring); a replay takes the same path.
    """

    workload: str | None
    strategy: str
    trials: int
    num_trials_per_iter: int
    seed: int
    target: dict[str, Any]
    proposer: str
    proposer_local: bool = False

    FILE_NAME = "run.json"

    def save(self, root: str | os.PathLike[str]) -> Path:
        """Write ``root/run.json`` (creating ``root``); returns its path."""
        path = Path(root) / self.FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"format": FORMAT_VERSION, **dataclasses.asdict(self)}
        path.write_text(json.dumps(entry, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> RunManifest:
        """Read ``root/run.json``.

        Raises
        ------
        DatabaseRecordError
            The file is missing, not JSON, or lacks a field.
        """
        path = Path(root) / cls.FILE_NAME
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry.pop("format", None) != FORMAT_VERSION:
                raise ValueError("unknown format")
            return cls(**entry)
        except (OSError, ValueError, TypeError) as exc:
            raise DatabaseRecordError(
                f"{path} is not a recorded tuning run ({type(exc).__name__}: {exc}); record one "
                "with tune_workload(record_to=...) or `tvm-llm-sched tune --record DIR`",
                path=str(path),
            ) from exc
