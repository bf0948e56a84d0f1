"""The embedded expert policy's first proposals, measured without any tuning feedback.

What :class:`~tvm_llm_sched.search.LLMGuidedSearch` measures in its first iteration: for every
MetaSchedule design space of the workload (decisions sampled with a fixed seed), follow the expert
policy's best step up to ``depth`` times, postprocess, verify numerically, and time it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..hardware import host_target, use_target_cores
from ..measure.timing import time_module
from ..proposers.expert import ExpertPolicy
from ..search.chain import follow
from ..search.engine import postprocessed
from ..steps import State, design_space_context
from ..verify import verify
from ..workloads import load_workload


@dataclasses.dataclass(frozen=True)
class SpaceResult:
    """One design space: the expert's steps, the sample's and the result's latency."""

    space: int
    steps: tuple[str, ...]
    sampled_us: float
    expert_us: float
    verified: bool
    max_abs_err: float


@dataclasses.dataclass(frozen=True)
class FirstProposals:
    """A workload's first proposals over all of its design spaces."""

    workload: str
    unscheduled_us: float
    spaces: tuple[SpaceResult, ...]

    @property
    def best(self) -> SpaceResult:
        """The fastest verified result."""
        verified = [s for s in self.spaces if s.verified]
        return min(verified or self.spaces, key=lambda s: s.expert_us)

    @property
    def best_sampled_us(self) -> float:
        """The fastest design-space sample before the expert's steps."""
        return min(s.sampled_us for s in self.spaces)


def _time_us(mod: Any, target: Any) -> float:
    return 1e6 * time_module(mod, target) if mod is not None else math.inf


def first_proposals(spec: str, *, depth: int = 8, rand_state: int = 1) -> FirstProposals:
    """Follow the expert policy from every design space of ``spec`` and measure the results.

    Parameters
    ----------
    spec : str
        Workload (``"GMM:1"``).
    depth : int
        Expert steps per design space.
    rand_state : int
        Seed of the sampled decisions.
    """
    workload = load_workload(spec)
    target = host_target()
    use_target_cores(target)
    ctx = design_space_context(workload.mod, target, rand_state=rand_state)
    results = []
    for index, space in enumerate(ctx.space_generator.generate_design_space(workload.mod)):
        start = State.from_schedule(space, workload.mod)
        states, _ = follow(ExpertPolicy(), start, workload=spec, target=target, depth=depth)
        final = states[-1] if states else start
        sampled = postprocessed(start.schedule, ctx.space_generator.postprocs)
        expert = postprocessed(final.schedule, ctx.space_generator.postprocs)
        report = verify(workload.mod, expert, target, seeds=(0, 1)) if expert else None
        results.append(
            SpaceResult(
                space=index,
                steps=tuple(s.to_text() for s in final.steps),
                sampled_us=_time_us(sampled.mod if sampled else None, target),
                expert_us=_time_us(expert.mod if expert else None, target),
                verified=bool(report and report.ok),
                max_abs_err=report.max_abs_err if report else math.inf,
            )
        )
    return FirstProposals(spec, _time_us(workload.mod, target), tuple(results))
