"""The search core behind :class:`~tvm_llm_sched.search.LLMGuidedSearch`, free of FFI ceremony.

One :class:`SearchEngine` per tuning task turns the task's pieces (workload, design spaces,
postprocessors, mutators, proposer) into candidate schedules:

- :meth:`SearchEngine.sample`: fresh design-space samples (random decisions);
- :meth:`SearchEngine.expand`: proposer chains: the proposer names an atomic step for a state, the
  step is validated and applied (a rejection is logged with its reason and fed back to the
  proposer's history), and the chain continues from the new state;
- :meth:`SearchEngine.mutate`: MetaSchedule's own mutators, picked by
  :class:`~tvm_llm_sched.search.LLMMutatorProbability`;
- :meth:`SearchEngine.finalize`: postprocessing and dedup (structural hash in the native
  :class:`~tvm_llm_sched.native.DedupSet`).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import random
from collections.abc import Sequence
from typing import Any

from ..errors import StepError
from ..proposers.base import Outcome, Proposer, Rejection, Situation
from ..proposers.chain import follow, validator_for
from ..proposers.facts import build_situation
from .config import SearchConfig
from .mutator_probability import LLMMutatorProbability

logger = logging.getLogger("tvm_llm_sched.search")


@dataclasses.dataclass
class Candidate:
    """A schedule on its way to measurement.

    Attributes
    ----------
    pre : tvm.s_tir.Schedule
        The schedule before postprocessing (its trace holds the sampled decisions).
    origin : str
        ``"proposer"``, ``"mutation"``, ``"random"`` or ``"seed"``.
    steps : tuple[str, ...]
        Proposer steps applied to the parent state (text form).
    state : Any
        The step-language :class:`~tvm_llm_sched.steps.State`, for proposer chains.
    parent_latency_us : float | None
        Measured latency of the parent state.
    mutator : str | None
        The mutator that made it (origin ``"mutation"``).
    sch : tvm.s_tir.Schedule | None
        The postprocessed schedule to measure (set by :meth:`SearchEngine.finalize`).
    key : int
        Structural hash of the postprocessed module.
    score : float | None
        Predicted score (higher is faster), once ranked; scored once per iteration.
    """

    pre: Any
    origin: str
    steps: tuple[str, ...] = ()
    state: Any = None
    parent_latency_us: float | None = None
    mutator: str | None = None
    sch: Any = None
    key: int = 0
    chain: int = -1
    score: float | None = None


@dataclasses.dataclass
class Frontier:
    """A measured state the search may build on."""

    pre: Any
    latency_us: float
    state: Any = None


class History:
    """What the proposer is told about the past: best latency, recent outcomes and rejections."""

    def __init__(self, size: int = 12, rejections: int = 32):
        self.best_latency_us: float | None = None
        self.recent: collections.deque[Outcome] = collections.deque(maxlen=size)
        # Longer than the outcomes: proposers use them to avoid repeating refused steps (prompts
        # show only the newest few).
        self.rejections: collections.deque[Rejection] = collections.deque(maxlen=rejections)
        self.rejected = 0  # rejections ever recorded (the deque keeps only the newest)

    def observe(self, latency_us: float | None) -> None:
        """Record any measured latency of the workload (proposer candidate or not)."""
        if latency_us is not None and (
            self.best_latency_us is None or latency_us < self.best_latency_us
        ):
            self.best_latency_us = latency_us

    def outcome(self, steps: tuple[str, ...], latency_us: float | None, error: str | None) -> None:
        """Record a measured (or failed) proposer candidate."""
        self.recent.append(Outcome(steps=steps, latency_us=latency_us, error=error))
        self.observe(latency_us)

    def reject(self, step: str, reason: str) -> None:
        """Record a rejected step and log it."""
        logger.info("rejected step %s: %s", step, reason)
        self.rejections.append(Rejection(step=step, reason=reason))
        self.rejected += 1

    def snapshot(self) -> History:
        """An independent copy: what a proposer running in the background is shown.

        Measurements that arrive while it runs must not leak into its prompts halfway, or the
        prompts (and a replay of them) would depend on thread timing.
        """
        copy = History(size=self.recent.maxlen or 0, rejections=self.rejections.maxlen or 0)
        copy.best_latency_us = self.best_latency_us
        copy.recent.extend(self.recent)
        copy.rejections.extend(self.rejections)
        copy.rejected = self.rejected
        return copy

    def merge_rejections(self, snapshot: History) -> None:
        """Take over the rejections recorded in ``snapshot`` since it was taken."""
        new = min(snapshot.rejected - self.rejected, len(snapshot.rejections))
        if new > 0:
            self.rejections.extend(list(snapshot.rejections)[-new:])
            self.rejected += new


class SearchEngine:
    """Candidate generation for one tuning task.

    Parameters
    ----------
    mod : tvm.IRModule
        The workload.
    target : tvm.target.Target
        The target (sizes the hardware facts).
    design_spaces : Sequence[tvm.s_tir.Schedule]
        The task's design spaces (their traces are replayed with fresh decisions).
    postprocs : Sequence
        The context's postprocessors.
    mutators : dict[str, Mutator]
        MetaSchedule mutators by class name.
    mutator_probability : LLMMutatorProbability
        Weights for picking a mutator.
    proposer : Proposer
        Where atomic steps come from.
    config : SearchConfig
        Budgets.
    seed : int
        Seed for sampling (schedule seeds are derived from it).
    workload_name : str
        Shown to the proposer.
    """

    def __init__(
        self,
        *,
        mod: Any,
        target: Any,
        design_spaces: Sequence[Any],
        postprocs: Sequence[Any],
        mutators: dict[str, Any],
        mutator_probability: LLMMutatorProbability,
        proposer: Proposer,
        config: SearchConfig,
        seed: int,
        workload_name: str = "main",
    ):
        from ..native import DedupSet

        self.mod = mod
        self.target = target
        self.spaces = list(design_spaces)
        self.postprocs = list(postprocs)
        self.mutators = mutators
        self.mutator_probability = mutator_probability
        self.proposer = proposer
        self.config = config
        self.rng = random.Random(seed)
        self.workload_name = workload_name
        self.seen = DedupSet()
        self.history = History()
        self._warned = False
        self._chains = 0
        self._workload: Any = None  # (database Workload of ``mod``, its JSON): reload check

    # -- schedules -------------------------------------------------------------------------------
    def _seed(self) -> int:
        return self.rng.randint(1, 2**31 - 1)

    def replay(self, trace: Any) -> Any | None:
        """Replay a trace (postprocessing removed) on a fresh schedule; None if it fails."""
        return _replayed(self.mod, trace, self._seed())

    def sample(self, count: int, origin: str = "random") -> list[Candidate]:
        """``count`` design-space samples with fresh random decisions."""
        import tvm

        out = []
        for attempt in range(count * 4):
            if len(out) >= count or not self.spaces:
                break
            space = self.spaces[attempt % len(self.spaces)]
            pre = self.replay(tvm.s_tir.Trace(space.trace.insts, {}))
            if pre is not None:
                out.append(Candidate(pre=pre, origin=origin))
        return out

    def mutate(self, parents: Sequence[Frontier], count: int) -> list[Candidate]:
        """``count`` children of ``parents`` (better ones more often) by MetaSchedule mutators."""
        if not parents or not self.mutators:
            return []
        names = list(self.mutators)
        weights = [self.mutator_probability.probabilities.get(n, 0.0) for n in names]
        ranks = [1.0 / (i + 1) for i in range(len(parents))]
        out = []
        for _ in range(count * 2):
            if len(out) >= count:
                break
            parent = self.rng.choices(parents, ranks)[0]
            name = self.rng.choices(names, weights)[0]
            try:
                trace = _apply_mutator(self.mutators[name], parent.pre.trace, self._seed())
            except Exception:  # a mutator that finds nothing to change raises or returns None
                trace = None
            pre = self.replay(trace) if trace is not None else None
            if pre is not None:
                out.append(
                    Candidate(
                        pre=pre,
                        origin="mutation",
                        mutator=name,
                        parent_latency_us=parent.latency_us,
                    )
                )
        return out

    def finalize(
        self, candidates: Sequence[Candidate], batch: set[int] | None = None
    ) -> list[Candidate]:
        """Postprocess, drop what was measured before, and dedup within the batch.

        ``batch`` holds the keys already finalized for this batch from other sources (proposer,
        mutation, sampling); it is updated. Without it, only ``candidates`` are deduplicated among
        themselves.
        """
        import tvm_ffi

        ready = []
        batch = set() if batch is None else batch
        for cand in candidates:
            sch = postprocessed(cand.pre, self.postprocs)
            if sch is None:
                continue
            if _is_structural(cand.steps) and not self._reloads(sch):
                reason = (
                    "TVM could not load this schedule's tuning record back (replaying its trace "
                    "changes the workload module), so it is not measured"
                )
                logger.info("rejected %s: %s", "; ".join(cand.steps), reason)
                self.history.reject(cand.steps[-1], reason)
                continue
            key = _signed64(tvm_ffi.structural_hash(sch.mod))
            if key in batch or key in self.seen:
                continue
            batch.add(key)
            cand.sch, cand.key = sch, key
            ready.append(cand)
        return ready

    def _reloads(self, sch: Any) -> bool:
        """Whether a JSON database can load ``sch``'s record back. In TVM 0.27, replaying some
        traces (a split of an original loop after MetaSchedule's root annotations, e.g. on NRM:1's
        plain design space) changes the workload module in place, and then no record of the
        work dir loads; measuring such a candidate would lose the whole database. Proposer
        candidates are replayed with the root annotations last, which avoids the known case
        (``tvm_compat.root_annotations_last``); this check is the safety net for any other."""
        from tvm.s_tir.meta_schedule.database import Workload

        from ..tvm_compat import record_reloads

        if self._workload is None:
            workload = Workload(self.mod)
            self._workload = (workload, workload.as_json())
        return record_reloads(sch.trace, *self._workload)

    def mark_measured(self, candidates: Sequence[Candidate]) -> None:
        """Remember chosen candidates so they are never measured twice (one native batch call)."""
        import numpy as np

        if candidates:
            self.seen.insert_many(np.array([c.key for c in candidates], dtype=np.int64))

    # -- proposer chains -------------------------------------------------------------------------
    def situation(
        self, state: Any, latency_us: float | None, history: History | None = None
    ) -> Situation:
        """What the proposer sees for ``state`` (with this engine's history by default)."""
        return build_situation(
            state,
            workload=self.workload_name,
            target=self.target,
            menu_limit=self.config.menu_limit if self.proposer.needs_menu else 0,
            latency_us=latency_us,
            history=self.history if history is None else history,
        )

    def expand(
        self,
        starts: Sequence[Frontier],
        *,
        width: int | None = None,
        branching: int | None = None,
        budget: int | None = None,
        history: History | None = None,
    ) -> list[Candidate]:
        """Proposer chains from the best states; every intermediate state is a candidate.

        ``width``, ``branching`` and ``budget`` override the config's beam width, steps asked per
        state and proposer calls; ``history`` replaces the engine's (a snapshot, for background
        proposals). Returns an empty list (and logs why) when the proposer fails, so the caller
        falls back to mutation and sampling.
        """
        from ..steps import State

        history = self.history if history is None else history
        calls = 0
        out: list[Candidate] = []
        budget = self.config.proposer_calls_per_iter if budget is None else budget
        branching = self.config.branching if branching is None else branching
        for start in starts[: self.config.beam_width if width is None else width]:
            if calls >= budget:
                break
            if start.state is None:
                try:
                    start.state = State.from_schedule(start.pre, self.mod)
                except StepError as exc:
                    logger.info("cannot build a step state from a frontier schedule: %s", exc)
                    continue
            proposal = self.proposer.propose(
                self.situation(start.state, start.latency_us, history),
                k=branching,
                validate=validator_for(start.state),
            )
            calls += 1
            for rejection in proposal.rejections:
                history.reject(rejection.step, rejection.reason)
            if proposal.error:
                # Warn once per run; later failures are routine fallback, logged at INFO.
                log = logger.info if self._warned else logger.warning
                log(
                    "proposer %s failed (%s); this iteration uses mutation and sampling only",
                    self.proposer.name,
                    proposal.error,
                )
                self._warned = True
                return out
            for first in proposal.steps:
                calls += self._chain(start, first.step, out, budget - calls, history)
        return out

    def _chain(
        self, start: Frontier, first: str, out: list[Candidate], budget: int, history: History
    ) -> int:
        """Follow one chain from ``start`` beginning with ``first``; return proposer calls used."""
        try:
            state = start.state.apply(first)
        except StepError as exc:  # a proposer that skipped validation: a rejection, not a failure
            history.reject(first, str(exc))
            return 0
        states, calls = follow(
            self.proposer,
            state,
            workload=self.workload_name,
            target=self.target,
            depth=min(self.config.chain_depth - 1, budget),
            history=history,
            menu_limit=self.config.menu_limit,
        )
        self._chains += 1
        for current in [state, *states]:
            steps = [s.to_text() for s in current.steps[len(start.state.steps) :]]
            out.append(self._from_state(current, start, tuple(steps)))
            out[-1].chain = self._chains
        return calls

    def _from_state(self, state: Any, start: Frontier, steps: tuple[str, ...]) -> Candidate:
        # A structural step follows the base's root annotations; State.trace reorders them so
        # the record reloads (tvm_compat.root_annotations_last). Decision edits keep the trace.
        pre = _replayed(self.mod, state.trace) if _is_structural(steps) else None
        return Candidate(
            pre=state.schedule if pre is None else pre,
            origin="proposer",
            steps=steps,
            state=state,
            parent_latency_us=start.latency_us,
        )


def _is_structural(steps: Sequence[str]) -> bool:
    """Whether steps change the program's structure (split, rfactor, ...), not only decisions.
    Decision edits keep MetaSchedule's own trace, which reloads."""
    from ..steps import parse_step

    return any(not parse_step(step).is_decision_edit for step in steps)


def postprocessed(sch: Any, postprocs: Sequence[Any]) -> Any | None:
    """A copy of ``sch`` after ``postprocs``; None if one of them rejects it."""
    done = sch.copy()
    try:
        return done if all(post.apply(done) for post in postprocs) else None
    except Exception:  # a postprocessor rejecting a schedule may raise instead of False
        return None


def _replayed(mod: Any, trace: Any, seed: int | None = None) -> Any | None:
    """``trace`` replayed (postprocessing removed) on a fresh schedule of ``mod``; None if it
    fails. The seed only matters for decisions the trace leaves unset."""
    import tvm

    sch = tvm.s_tir.Schedule(mod, seed=seed, debug_mask=0)
    try:
        trace.apply_to_schedule(sch, remove_postproc=True)
    except Exception:  # an invalid mutation or an outdated record: not a candidate
        return None
    return sch


def _apply_mutator(mutator: Any, trace: Any, seed: int) -> Any:
    """``mutator.apply(trace)`` with an explicit random state (the Python API always passes -1,
    a nondeterministic seed, which would make a replayed run diverge)."""
    from tvm.s_tir.meta_schedule import _ffi_api

    return _ffi_api.MutatorApply(mutator, trace, seed)


def _signed64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value
