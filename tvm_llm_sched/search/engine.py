"""The search core behind :class:`~tvm_llm_sched.search.LLMGuidedSearch`, free of FFI ceremony.

One :class:`SearchEngine` per tuning task turns the task's pieces (workload, design spaces,
postprocessors, mutators, proposer) into candidate schedules:

- :meth:`SearchEngine.sample`: fresh design-space samples (random decisions);
- :meth:`SearchEngine.expand`: proposer chains: the proposer names an atomic step for a state, the
  step is validated and applied (a rejection is logged with its reason and fed back to the
  proposer's history), and the chain continues from the new state;
- :meth:`SearchEngine.mutate`: MetaSchedule's own mutators, picked by
  :class:`~tvm_llm_sched.search.LLMMutatorProbability`;
- :meth:`SearchEngine.finalize`: dedup and postprocessing. A proposer state whose step IR this
  batch already holds, or a measured state had, is skipped first (naming-invariant canonical hash
  in a native :class:`~tvm_llm_sched.native.DedupSet`), before its replay, postprocessing and
  TVM's structural hash; every other candidate is deduplicated by the structural hash of its
  postprocessed module (a second native set holds the measured ones).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import random
from collections.abc import Sequence
from typing import Any

from ..errors import StepError
from ..ir import state_hash
from ..proposers.base import Outcome, Proposer, Rejection, Situation
from ..steps import Step
from .chain import StepChains
from .config import SearchConfig
from .mutator_probability import LLMMutatorProbability

logger = logging.getLogger("tvm_llm_sched.search")

CANDIDATE_SOURCES = ("proposer", "mutation", "sampling")
"""Where a measured candidate came from, as benchmarks count it."""


@dataclasses.dataclass
class Candidate:
    """A schedule on its way to measurement.

    Attributes
    ----------
    pre : tvm.s_tir.Schedule | None
        The schedule before postprocessing (its trace holds the sampled decisions); for a
        proposer state, made from ``state`` by :meth:`SearchEngine.finalize` once the state is
        known not to be a duplicate.
    origin : str
        ``"proposer"``, ``"mutation"``, ``"random"`` or ``"seed"``.
    steps : tuple[Step, ...]
        Proposer steps applied to the parent state.
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
    state_key : int | None
        Naming-invariant hash of a proposer state's step IR (``ir.state_hash``), for dedup.
    parent_key : str | None
        Record key (:func:`~tvm_llm_sched.database.lineage.trace_key`) of the measured parent.
    parent_trace : Any
        The trace JSON of an unmeasured parent (a design-space sample a chain started from).
    """

    pre: Any
    origin: str
    steps: tuple[Step, ...] = ()
    state: Any = None
    parent_latency_us: float | None = None
    mutator: str | None = None
    sch: Any = None
    key: int = 0
    chain: int = -1
    score: float | None = None
    state_key: int | None = None
    parent_key: str | None = None
    parent_trace: Any = None

    @property
    def source(self) -> str:
        """Which of :data:`CANDIDATE_SOURCES` made it (sampled seeds and exploration both count as
        sampling)."""
        return self.origin if self.origin in ("proposer", "mutation") else "sampling"


@dataclasses.dataclass
class BatchKeys:
    """What one batch already holds, across its sources (proposer, mutation, sampling): the
    structural hashes of its postprocessed modules and the step-IR hashes of its proposer
    states."""

    modules: set[int] = dataclasses.field(default_factory=set)
    states: set[int] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class EngineStats:
    """Counters of one task's search.

    Attributes
    ----------
    state_duplicates : int
        Proposer states skipped because their step IR was already in the batch or measured.
    state_audited : int
        Skipped states postprocessed anyway (``SearchConfig.audit_state_dedup``).
    state_collisions : int
        Audited states whose postprocessed program differs from the kept state's program.
    """

    state_duplicates: int = 0
    state_audited: int = 0
    state_collisions: int = 0


@dataclasses.dataclass
class Frontier:
    """A measured state the search may build on (or a design-space sample: no latency, no key);
    ``key`` is its record's :func:`~tvm_llm_sched.database.lineage.trace_key`."""

    pre: Any
    latency_us: float | None
    state: Any = None
    key: str | None = None


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

    def outcome(self, steps: tuple[Step, ...], latency_us: float | None, error: str | None) -> None:
        """Record a measured (or failed) proposer candidate."""
        self.recent.append(Outcome(steps=steps, latency_us=latency_us, error=error))
        self.observe(latency_us)

    def reject(self, rejection: Rejection) -> None:
        """Record a rejected step and log it."""
        logger.info("rejected step %s: %s", rejection.step, rejection.reason)
        self.rejections.append(rejection)
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
        self.seen = DedupSet()  # structural hashes of measured modules
        self.seen_states = DedupSet()  # step-IR hashes of measured proposer states
        self.stats = EngineStats()
        self._module_of_state: dict[int, int] = {}  # audit only: state key -> module key
        self.history = History()
        self.chains = StepChains.for_proposer(
            proposer, workload=workload_name, target=target, menu_limit=config.menu_limit
        )
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
                        parent_key=parent.key,
                    )
                )
        return out

    def finalize(
        self, candidates: Sequence[Candidate], batch: BatchKeys | None = None
    ) -> list[Candidate]:
        """Postprocess, drop what was measured before, and dedup within the batch.

        ``batch`` holds the keys already finalized for this batch from other sources (proposer,
        mutation, sampling); it is updated. Without it, only ``candidates`` are deduplicated among
        themselves.
        """
        import tvm_ffi

        ready = []
        batch = BatchKeys() if batch is None else batch
        for cand in candidates:
            duplicate = self._duplicate_state(cand, batch)
            if duplicate and not self.config.audit_state_dedup:
                continue
            if cand.pre is None:
                cand.pre = self._pre_of(cand)
            sch = postprocessed(cand.pre, self.postprocs)
            if sch is None:
                continue
            if duplicate:
                self._audit(cand, sch)
                continue
            if _is_structural(cand.steps) and not self._reloads(sch):
                reason = (
                    "TVM could not load this schedule's tuning record back (replaying its trace "
                    "changes the workload module), so it is not measured"
                )
                self.history.reject(Rejection(step=cand.steps[-1].to_text(), reason=reason))
                continue
            key = _signed64(tvm_ffi.structural_hash(sch.mod))
            if key in batch.modules or key in self.seen:
                continue
            batch.modules.add(key)
            if cand.state_key is not None:
                batch.states.add(cand.state_key)
                if self.config.audit_state_dedup:
                    self._module_of_state.setdefault(cand.state_key, key)
            cand.sch, cand.key = sch, key
            ready.append(cand)
        return ready

    def _duplicate_state(self, cand: Candidate, batch: BatchKeys) -> bool:
        """Whether ``cand`` is a proposer state whose step IR the batch holds or was measured."""
        key = cand.state_key
        if key is None or (key not in batch.states and key not in self.seen_states):
            return False
        self.stats.state_duplicates += 1
        return True

    def _audit(self, cand: Candidate, sch: Any) -> None:
        """Count a skipped state whose program differs from the kept state of the same IR."""
        import tvm_ffi

        self.stats.state_audited += 1
        kept = self._module_of_state.get(cand.state_key)
        if kept is not None and kept != _signed64(tvm_ffi.structural_hash(sch.mod)):
            self.stats.state_collisions += 1
            logger.info("step-IR collision: %s", "; ".join(map(str, cand.steps)))

    def _pre_of(self, cand: Candidate) -> Any:
        """The unpostprocessed schedule of a proposer state. A structural step follows the base's
        root annotations; State.trace reorders them so the record reloads
        (tvm_compat.root_annotations_last). Decision edits keep the trace."""
        if _is_structural(cand.steps):
            pre = _replayed(self.mod, cand.state.trace)
            if pre is not None:
                return pre
        return cand.state.schedule

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
            states = [c.state_key for c in candidates if c.state_key is not None]
            if states:
                self.seen_states.insert_many(np.array(states, dtype=np.int64))

    # -- proposer chains -------------------------------------------------------------------------
    def situation(
        self, state: Any, latency_us: float | None, history: History | None = None
    ) -> Situation:
        """What the proposer sees for ``state`` (with this engine's history by default)."""
        history = self.history if history is None else history
        return self.chains.situations.build(state, latency_us=latency_us, history=history)

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
        proposals). Returns what it has (possibly nothing) when the proposer fails, so the caller
        falls back to mutation and sampling; the failure is logged by :class:`StepChains`.
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
                except (StepError, ValueError) as exc:
                    logger.info("cannot build a step state from a frontier schedule: %s", exc)
                    continue
            proposal = self.chains.ask(
                start.state, k=branching, latency_us=start.latency_us, history=history
            )
            calls += 1
            if proposal.error:
                return out
            for first in proposal.steps:
                calls += self._chain(start, first.step, out, budget - calls, history)
        return out

    def _chain(
        self, start: Frontier, first: Step, out: list[Candidate], budget: int, history: History
    ) -> int:
        """Follow one chain from ``start`` beginning with ``first``; return proposer calls used."""
        state = self.chains.apply(start.state, first, history)
        if state is None:
            return 0
        states, calls = self.chains.follow(
            state, depth=min(self.config.chain_depth - 1, budget), history=history
        )
        self._chains += 1
        for current in [state, *states]:
            steps = current.steps[len(start.state.steps) :]
            out.append(self._from_state(current, start, steps))
            out[-1].chain = self._chains
        return calls

    def _from_state(self, state: Any, start: Frontier, steps: tuple[Step, ...]) -> Candidate:
        # The schedule itself (a replay for structural steps) is made by finalize, and only for
        # a state that is not a duplicate.
        from ..database.lineage import plain_json

        key = state_hash(state.ir) if self.config.state_dedup else None
        return Candidate(
            pre=None,
            origin="proposer",
            steps=steps,
            state=state,
            parent_latency_us=start.latency_us,
            state_key=key,
            parent_key=start.key,
            # an unmeasured start has no record: its trace is kept so the lineage stays complete
            parent_trace=plain_json(start.pre.trace.as_json()) if start.key is None else None,
        )


def _is_structural(steps: Sequence[Step]) -> bool:
    """Whether steps change the program's structure (split, rfactor, ...), not only decisions.
    Decision edits keep MetaSchedule's own trace, which reloads."""
    return any(not step.is_decision_edit for step in steps)


def postprocessed(sch: Any, postprocs: Sequence[Any]) -> Any | None:
    """A copy of ``sch`` after ``postprocs``; None if one of them rejects it.

    ``EnterPostproc`` marks where the postprocessing starts in the trace, as MetaSchedule's own
    strategies do: a record's trace replayed with ``remove_postproc=True`` (the search's frontier,
    its mutations, the dataset builder) then gives the schedule before postprocessing. Without
    the mark the postprocessors' instructions (fuse, parallel, vectorize, decompose_reduction,
    recorded for the old decisions) were replayed into every state built on a measured record.
    """
    done = sch.copy()
    done.enter_postproc()
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
