"""What a benchmark run records: trials, iterations, runs, references, and their JSON form.

Failed candidates keep ``latency_us = inf`` in memory and ``null`` in JSON (strict JSON has no
infinity), always with their error message.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _inf_if_none(value: float | None) -> float:
    return math.inf if value is None else float(value)


@dataclasses.dataclass
class TrialRecord:
    """One measured candidate.

    Attributes
    ----------
    index : int
        0-based position in the run (trial ``index + 1`` of the budget).
    latency_us : float
        Mean of the runner's ``run_secs`` in microseconds; ``inf`` if building or running failed.
    best_us : float
        Best latency of trials ``0..index``.
    elapsed_s : float
        Wall seconds from the start of ``ms.tune_tir`` until this trial's result was known (the
        end of its iteration).
    iteration : int
        Which iteration of ``num_trials_per_iter`` candidates measured it.
    error : str or None
        The build or run error message of a failed candidate.
    source : str or None
        ``proposer``, ``mutation`` or ``sampling`` when the strategy says (LLMGuidedSearch).
    search_s, build_s, run_s, update_s, wall_s : float
        This trial's equal share of its iteration's phase times and wall time.
    """

    index: int
    latency_us: float
    best_us: float
    elapsed_s: float
    iteration: int
    error: str | None = None
    source: str | None = None
    search_s: float = 0.0
    build_s: float = 0.0
    run_s: float = 0.0
    update_s: float = 0.0
    wall_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (``inf`` becomes ``null``)."""
        data = dataclasses.asdict(self)
        data["latency_us"] = _finite_or_none(self.latency_us)
        data["best_us"] = _finite_or_none(self.best_us)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrialRecord:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        data["latency_us"] = _inf_if_none(data["latency_us"])
        data["best_us"] = _inf_if_none(data["best_us"])
        return cls(**data)


@dataclasses.dataclass
class IterationRecord:
    """One round of ``generate -> build -> run -> notify -> callbacks``.

    Attributes
    ----------
    search_s : float
        Inside the strategy: generate, notify, initialize, pre/post tuning.
    build_s, run_s : float
        In the builder; in the runner and waiting on its futures.
    update_s : float
        MetaSchedule's measure callbacks: database commit and the XGB cost-model update (which
        ``ms.tune_tir`` runs for every strategy, whether it uses the model or not).
    wall_s : float
        Wall time of the iteration; the rest (``wall - search - build - run - update``) is task
        scheduler glue and, in the first iteration, context and design-space setup.
    """

    index: int
    wall_s: float
    elapsed_s: float
    num_candidates: int
    trials: list[TrialRecord]
    search_s: float = 0.0
    build_s: float = 0.0
    run_s: float = 0.0
    update_s: float = 0.0

    def __post_init__(self) -> None:
        self.share()

    def share(self) -> None:
        """Split the iteration's phase and wall times equally over its trials."""
        count = max(len(self.trials), 1)
        for trial in self.trials:
            for name in ("search_s", "build_s", "run_s", "update_s", "wall_s"):
                setattr(trial, name, getattr(self, name) / count)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        data = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "trials"
        }
        data["trials"] = [trial.to_json() for trial in self.trials]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IterationRecord:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        data["trials"] = [TrialRecord.from_json(t) for t in data["trials"]]
        return cls(**data)


@dataclasses.dataclass
class RunRecord:
    """One ``(workload, strategy, seed)`` tuning run at one trial budget.

    Attributes
    ----------
    run_id : str
        File-name stem, unique in an output directory.
    strategy : str
        Display label (``evolutionary``, ``replay-trace``, or the factory's name).
    strategy_spec : str
        What the user passed (``evolutionary`` or ``module:callable``).
    max_trials : int
        The budget ``ms.tune_tir`` was given.
    builder : str
        ``lean`` or ``local`` (see :mod:`tvm_llm_sched.bench.builders`).
    attempt : int
        1 for a run that finished on its first try; more if earlier attempts were interrupted
        (an interrupted run restarts from scratch in a fresh work_dir).
    proposer : dict | None
        The model proposer's call statistics over the whole run (calls, tokens, parse and
        apply rates, first-menu share), for strategies that report them (LLMGuidedSearch with
        a model); ``None`` otherwise.
    """

    run_id: str
    workload: str
    strategy: str
    strategy_spec: str
    seed: int
    max_trials: int
    num_trials_per_iter: int
    target: str
    flops: float
    wall_s: float
    iterations: list[IterationRecord]
    attempt: int = 1
    builder: str = "lean"
    started_at: str = ""
    command: str = ""
    proposer: dict[str, Any] | None = None

    @property
    def trials(self) -> list[TrialRecord]:
        """All trials in measurement order."""
        return [trial for it in self.iterations for trial in it.trials]

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["iterations"] = [it.to_json() for it in self.iterations]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        data["iterations"] = [IterationRecord.from_json(it) for it in data["iterations"]]
        return cls(**data)


@dataclasses.dataclass
class References:
    """Baselines of one workload, measured in the benchmark process.

    Attributes
    ----------
    unscheduled_us : float
        The program as written, built for the same target (``inf`` if it failed: see ``notes``).
    numpy_us : float or None
        ``np.matmul`` on the same shapes and dtype (best of N), for matmul-like workloads only.
    peak_gflops, peak_formula : float, str
        Host fp32 peak from :func:`~tvm_llm_sched.hardware.detect_cpu`.
    """

    workload: str
    flops: float
    unscheduled_us: float
    numpy_us: float | None
    peak_gflops: float
    peak_formula: str
    cpu: str
    target: str
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def peak_bound_us(self) -> float:
        """The latency the workload's FLOPs would take at the fp32 peak."""
        return self.flops / (self.peak_gflops * 1e3) if self.peak_gflops else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        data = dataclasses.asdict(self)
        data["unscheduled_us"] = _finite_or_none(self.unscheduled_us)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> References:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        data["unscheduled_us"] = _inf_if_none(data["unscheduled_us"])
        return cls(**data)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a killed process never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=False))
    tmp.replace(path)
