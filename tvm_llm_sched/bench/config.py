"""What a benchmark matrix runs: workloads x strategies x budgets x seeds, and how."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..measure.timing import EvaluatorSettings
from .builders import BUILDERS


@dataclasses.dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """A benchmark matrix.

    Attributes
    ----------
    workloads : tuple of str
        ``"NAME:IDX"`` te_workload specs or TVMScript file paths.
    strategies : tuple of str
        ``evolutionary``, ``replay-trace``, ``replay-func`` or ``module:callable``.
    budgets : tuple of int
        Trial budgets at which curves are read (one run at the largest unless
        ``separate_budgets``).
    seeds : tuple of int
        ``ms.tune_tir`` seeds.
    out_dir : pathlib.Path
        Results directory (reused to resume).
    num_trials_per_iter : int
        Candidates per iteration, the same for every strategy.
    target : str or None
        Anything :func:`~tvm_llm_sched.hardware.resolve_target` accepts; ``None`` is the host.
    separate_budgets : bool
        Tune every budget in its own run instead of reading smaller budgets off the largest.
    evaluator : EvaluatorSettings
        Timing of candidates and of the unscheduled reference.
    builder : str
        ``"lean"`` (default) or ``"local"``: see :mod:`tvm_llm_sched.bench.builders`.
    builder_timeout_s, runner_timeout_s : float
        ``LocalBuilder`` / ``LocalRunner`` timeouts (MetaSchedule's 30 s).
    command : str
        The command line, recorded in every result file.

    Examples
    --------
    >>> BenchConfig(workloads=("GMM:0",), strategies=("replay-trace",), budgets=(8,),
    ...             out_dir=Path("bench_out")).max_budget
    8
    """

    workloads: tuple[str, ...]
    strategies: tuple[str, ...]
    budgets: tuple[int, ...]
    out_dir: Path
    seeds: tuple[int, ...] = (0,)
    num_trials_per_iter: int = 16
    target: str | None = None
    separate_budgets: bool = False
    evaluator: EvaluatorSettings = dataclasses.field(default_factory=EvaluatorSettings)
    builder: str = "lean"
    builder_timeout_s: float = 30.0
    runner_timeout_s: float = 30.0
    command: str = ""

    def __post_init__(self) -> None:
        for name in ("workloads", "strategies", "budgets", "seeds"):
            if not getattr(self, name):
                raise ValueError(f"BenchConfig.{name} must not be empty")
        if any(budget < 1 for budget in self.budgets):
            raise ValueError(f"trial budgets must be >= 1, got {list(self.budgets)}")
        if self.num_trials_per_iter < 1:
            raise ValueError(f"num_trials_per_iter must be >= 1, got {self.num_trials_per_iter}")
        if self.builder not in BUILDERS:
            raise ValueError(f"unknown builder {self.builder!r}: use one of {', '.join(BUILDERS)}")
        object.__setattr__(self, "budgets", tuple(sorted(set(self.budgets))))
        object.__setattr__(self, "out_dir", Path(self.out_dir))

    @property
    def max_budget(self) -> int:
        """The largest budget."""
        return max(self.budgets)

    @property
    def run_budgets(self) -> tuple[int, ...]:
        """Budgets that get their own tuning run."""
        return self.budgets if self.separate_budgets else (self.max_budget,)
