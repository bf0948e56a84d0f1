"""LLMGuidedSearch: a MetaSchedule search strategy steered by a proposer, one atomic step at a time.

Drop-in for ``ms.tune_tir(..., strategy=LLMGuidedSearch())`` and
``ms.relax_integration.tune_relax(..., strategy=LLMGuidedSearch())``. TVM's builder, runner,
database and cost model stay in charge of measuring; this class only decides what to measure.

Each iteration (beam search over measured states, documented in the README):

1. the frontier is the database's best measured schedules for the task (design-space samples
   before anything is measured);
2. the proposer (an LLM endpoint or the embedded expert policy) expands the best few frontier
   states with chains of atomic steps, each validated by replaying it through ``s_tir.Schedule``;
   rejections are logged with their reason and shown to the proposer next time;
3. MetaSchedule's own mutators, weighted by :class:`LLMMutatorProbability`, evolve the frontier,
   and fresh design-space samples keep exploring;
4. every candidate is postprocessed, deduplicated (native hash set over structural hashes), and
   ranked by the task's cost model once it has seen measurements; a share of each batch is kept for
   proposer candidates and an epsilon for unranked random samples;
5. runner results (and build/run failures with their messages) flow back into the proposer's
   history and the mutator statistics.

If the proposer fails or runs out of budget, the iteration continues with mutation and sampling
only (evolutionary behaviour) and the log says so once.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import threading
from typing import Any

from tvm.ir.utils import derived_object
from tvm.s_tir.meta_schedule.search_strategy import MeasureCandidate, PySearchStrategy

from ..database.lineage import LineageEntry, LineageWriter, trace_key
from ..measure.latency import latency_us
from ..proposers.base import Proposer
from ..tvm_compat import (
    BUILDER_FIX_ENV,
    builder_fix_disabled,
    install_builder_fix,
    install_runner_fix,
    preload_tensor_intrin,
)
from .config import SearchConfig
from .engine import BatchKeys, Candidate, Frontier, History, SearchEngine
from .mutator_probability import LLMMutatorProbability
from .ranking import CandidateRanker
from .sources import SourceHitRates

logger = logging.getLogger("tvm_llm_sched.search")


def _resolve_proposer(proposer: Proposer | str | None) -> Proposer:
    from ..proposers import create, default_proposer

    if proposer is None:
        return default_proposer()
    if isinstance(proposer, str):
        return create(proposer)
    return proposer


class _ProposerUsers:
    """The searches (one per task) tuning with a proposer the strategy made from a kind: each
    joins in ``pre_tuning`` and leaves in ``post_tuning``; the last to leave closes it."""

    def __init__(self, proposer: Proposer):
        self.proposer = proposer
        self._count = 0
        self._lock = threading.Lock()

    def join(self) -> None:
        with self._lock:
            self._count += 1

    def leave(self) -> None:
        with self._lock:
            self._count -= 1
            last = self._count == 0
        if last:
            self.proposer.close()


@derived_object
class LLMGuidedSearch(PySearchStrategy):
    """Proposer-guided beam search over MetaSchedule design spaces.

    Parameters
    ----------
    proposer : Proposer | str | None
        A proposer, a kind for :func:`tvm_llm_sched.proposers.create` (``"expert"``,
        ``"openai"``, ``"local"``, ``"random"``), or ``None`` for the configured endpoint if
        ``TVM_LLM_SCHED_BASE_URL`` is set, else the embedded expert policy. A proposer made here
        from a kind is closed when the last task's search finishes (a local model server stops
        then); a proposer instance stays the caller's to close.
    config : SearchConfig | None
        Budgets and mix; default :meth:`SearchConfig.for_proposer` (the full call budget for the
        embedded policies, a lean one for a remote model, one call per iteration for a model on
        this machine, which is never asked while candidates are measured).
    seed : int | None
        Seed for sampling; defaults to the tuning context's random state.

    Examples
    --------
    >>> from tvm.s_tir import meta_schedule as ms
    >>> from tvm_llm_sched.search import LLMGuidedSearch
    >>> db = ms.tune_tir(mod, target, "work", max_trials_global=64,
    ...                  strategy=LLMGuidedSearch())  # doctest: +SKIP
    """

    def __init__(
        self,
        proposer: Proposer | str | None = None,
        *,
        config: SearchConfig | None = None,
        seed: int | None = None,
    ):
        self._proposer_spec = proposer
        self._config = config
        self.config = config or SearchConfig()
        self.seed = seed
        self.context: Any = None
        self.proposer: Proposer | None = None
        self.engine: SearchEngine | None = None
        self._pending: list[Candidate] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._speculative: concurrent.futures.Future | None = None
        self._speculative_history: History | None = None
        self._iteration_frontier: list[Frontier] = []
        # ms.tune_tir builds its TuneContext after this constructor runs: make that import fast,
        # and give the workers of its default builder the same fast import; its default runner
        # must be able to measure tasks that index with an integer input.
        preload_tensor_intrin()
        install_builder_fix()
        install_runner_fix()
        self._timeouts_reported = False
        self._users: _ProposerUsers | None = None  # shared with clones when we made the proposer
        self._using = False
        self.batch_sources: list[str] = []
        """Source (``proposer``, ``mutation``, ``sampling``) of each candidate of the last batch,
        in the order sent to the builder: benchmarks count what the proposer contributes."""

    # -- MetaSchedule lifecycle ------------------------------------------------------------------
    def _initialize_with_tune_context(self, context: Any) -> None:
        self.context = context
        if self.proposer is None:
            self.proposer = _resolve_proposer(self._proposer_spec)
            if not isinstance(self._proposer_spec, Proposer):
                # made here from a kind: closed when the last search using it finishes (a
                # local model server stops then), not by the template TVM clones per task
                self._users = _ProposerUsers(self.proposer)
            self.config = self._config or SearchConfig.for_proposer(self.proposer)

    def pre_tuning(
        self,
        max_trials: int,
        num_trials_per_iter: int,
        design_spaces: list[Any],
        database: Any = None,
        cost_model: Any = None,
    ) -> None:
        ctx = self.context
        if ctx is None:
            raise RuntimeError("LLMGuidedSearch was not initialized with a TuneContext")
        if self._users is not None and not self._using:
            self._using = True
            self._users.join()
        self.max_trials = int(max_trials)
        self.num_trials_per_iter = int(num_trials_per_iter)
        self.database = database
        self.cost_model = cost_model
        self.trials_sent = 0
        self.trials_measured = 0
        self.iteration = 0
        self.stalled_iterations = 0  # consecutive batches that did not improve the best by 1 %
        self.source_hits = SourceHitRates(self.config.share_window)
        self.widened_iterations = 0  # batches chosen by the widened (stalled) search
        # A space generator may have no mutators (ScheduleFn without mutator_probs, or {}): the
        # search then runs on proposer steps and sampling alone.
        mutators = {type(m).__name__: m for m in ctx.space_generator.mutator_probs or {}}
        self.mutator_probability = LLMMutatorProbability.for_context(
            ctx, advisor=self.proposer.mutator_weights
        )
        seed = self.seed if self.seed is not None else int(ctx.rand_state)
        self.engine = SearchEngine(
            mod=ctx.mod,
            target=ctx.target,
            design_spaces=design_spaces,
            postprocs=ctx.space_generator.postprocs or [],
            mutators=mutators,
            mutator_probability=self.mutator_probability,
            proposer=self.proposer,
            config=self.config,
            seed=seed if seed > 0 else 1,
            workload_name=str(ctx.task_name or "main"),
        )
        # Without a cost model or a target (a context driven by hand, as TVM's strategy tests
        # do) the strategy's own model stays off: its features need the target.
        ranked = cost_model is not None and ctx.target is not None
        self.ranker = CandidateRanker(
            ctx, cost_model, min_samples=self.config.ranker_min_samples if ranked else 0
        )
        self.workload = database.commit_workload(ctx.mod) if database is not None else None
        # How each measured candidate was made, next to a JSON database's files (the dataset
        # builder's lineage); other databases get none.
        self.lineage = LineageWriter.for_database(database, self.workload)
        if self.lineage is not None:
            self.engine.chains.journal = self.lineage.asked
        # Without a database the strategy keeps its own view of what it measured.
        self._measured: list[Frontier] = []
        self._remember_database()

    def post_tuning(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor, self._speculative = None, None
        stats_of_calls = self.proposer_stats()
        if stats_of_calls is not None:
            logger.info("model proposer calls: %s", stats_of_calls)
        if self._users is not None and self._using:
            self._using = False
            self._users.leave()
        if self.engine is not None:
            best = self.engine.history.best_latency_us
            stats = self.engine.stats
            logger.info(
                "LLMGuidedSearch done: %d trials, best %s us; widened after a stall in %d "
                "batches; %d proposer states skipped as step-IR duplicates (%d audited, %d "
                "collisions)",
                self.trials_measured,
                f"{best:.1f}" if best is not None else "n/a",
                self.widened_iterations,
                stats.state_duplicates,
                stats.state_audited,
                stats.state_collisions,
            )
        self._pending = []

    def proposer_stats(self) -> dict[str, Any] | None:
        """What the model proposer's calls gave so far (calls, tokens, parse and apply rates,
        first-menu share; :class:`~tvm_llm_sched.proposers.llm.ModelCallStats`), or ``None``
        for a proposer without model calls."""
        read = getattr(self.proposer, "stats_json", None)
        return read() if callable(read) else None

    def generate_measure_candidates(self) -> list[MeasureCandidate] | None:
        engine = self.engine
        if engine is None or self.trials_sent >= self.max_trials:
            return None
        count = min(self.num_trials_per_iter, self.max_trials - self.trials_sent)
        try:
            chosen = self._choose(count)
        except Exception:  # a bug here must not end the user's tuning run: sample instead
            logger.exception("LLMGuidedSearch failed to choose candidates; sampling this batch")
            chosen = engine.finalize(engine.sample(count))
        if not chosen:
            return None
        engine.mark_measured(chosen)
        self._pending = chosen
        self.batch_sources = [c.source for c in chosen]
        self.trials_sent += len(chosen)
        self.iteration += 1
        self._speculate()
        return [MeasureCandidate(c.sch, _args_info(c.sch)) for c in chosen]

    def notify_runner_results(self, measure_candidates: list[Any], results: list[Any]) -> None:
        engine = self.engine
        if engine is None:
            return
        best_before = engine.history.best_latency_us
        self.source_hits.record(
            [c.source for c in self._pending[: len(results)]],
            [latency_us(r) for r in results[: len(self._pending)]],
            best_before,
        )
        lineage = []
        for cand, result in zip(self._pending, results, strict=False):
            latency = latency_us(result)
            error = str(result.error_msg) if result.error_msg else None
            # the record's key: for the lineage, and for the frontier kept without a database
            keyed = self.lineage is not None or self.database is None
            key = trace_key(cand.sch.trace.as_json()) if keyed else None
            if self.lineage is not None:
                lineage.append(_lineage_entry(self.lineage.workload, cand, key, latency, error))
            engine.history.observe(latency)
            if cand.origin == "proposer":
                engine.history.outcome(cand.steps, latency, error)
            if cand.mutator is not None and cand.parent_latency_us is not None:
                improved = latency is not None and latency < cand.parent_latency_us
                self.mutator_probability.record(cand.mutator, improved=improved)
            if self.database is None and latency is not None:
                self._measured.append(Frontier(pre=cand.pre, latency_us=latency, key=key))
        if self.lineage is not None:
            self.lineage.measured(lineage)
        self.trials_measured += len(results)
        best = engine.history.best_latency_us
        improved = best is not None and (best_before is None or best < best_before * STALL_GAIN)
        self.stalled_iterations = 0 if improved else self.stalled_iterations + 1
        self._pending = []
        self._report_build_timeouts(results)
        self.ranker.update(measure_candidates, results)
        if (
            self.config.mutator_update_every
            and self.iteration % self.config.mutator_update_every == 0
        ):
            self.mutator_probability.update()

    def _report_build_timeouts(self, results: list[Any]) -> None:
        """One clear error when most of a batch timed out in the builder (once per run)."""
        timeouts = sum(1 for r in results if "Timeout" in str(r.error_msg or ""))
        if self._timeouts_reported or not results or timeouts * 2 <= len(results):
            return
        self._timeouts_reported = True
        logger.error(
            "%d of %d candidates of this batch timed out in the builder. MetaSchedule's "
            "LocalBuilder starts new workers every batch and each imports "
            "tvm.s_tir.tensor_intrin (20-40 s on a busy machine, its timeout is 30 s). Fix: "
            "pass builder=tvm_llm_sched.local_builder() to ms.tune_tir%s.",
            timeouts,
            len(results),
            f" (the automatic fix is off: {BUILDER_FIX_ENV}=0)" if builder_fix_disabled() else "",
        )

    def clone(self) -> LLMGuidedSearch:
        # The proposer is shared: expert policies are stateless and HTTP clients are thread-safe.
        twin = LLMGuidedSearch(
            self.proposer or self._proposer_spec, config=self._config, seed=self.seed
        )
        twin._users = self._users
        return twin

    # -- the iteration ---------------------------------------------------------------------------
    @property
    def stalled(self) -> bool:
        """Whether the last ``stall_patience`` batches left the best latency where it was."""
        patience = self.config.stall_patience
        return bool(patience) and self.stalled_iterations >= patience

    def _frontier(self, size: int) -> list[Frontier]:
        """The ``size`` best measured schedules of this task, replayed without postprocessing
        (from the strategy's own view when there is no database)."""
        if self.database is None or self.workload is None:
            best = sorted(self._measured, key=lambda f: f.latency_us)
            return best[:size]
        out = []
        for record in self.database.get_top_k(self.workload, size):
            latency = latency_us(record)
            pre = self.engine.replay(record.trace) if latency is not None else None
            if pre is not None:
                key = trace_key(record.trace.as_json())
                out.append(Frontier(pre=pre, latency_us=latency, key=key))
        return out

    def _remember_database(self) -> None:
        """Resume: never re-measure what the database already holds for this task."""
        if self.database is None or self.workload is None:
            return
        records = self.database.get_top_k(self.workload, len(self.database))
        replayed = [self.engine.replay(record.trace) for record in records]
        known = [Candidate(pre=pre, origin="seed") for pre in replayed if pre is not None]
        self.engine.mark_measured(self.engine.finalize(known))
        if records:
            self.engine.history.observe(latency_us(records[0]))
            logger.info("resuming from %d measured records", len(records))
        stale = len(records) - len(known)
        if stale:  # e.g. records of an older TVM or another design space: not built upon
            logger.warning("%d database records of this task no longer replay; skipped", stale)

    def _choose(self, count: int) -> list[Candidate]:
        engine = self.engine
        cfg = self.config
        stalled = self.stalled
        if stalled:
            self.widened_iterations += 1
            logger.debug("no 1 %% gain for %d batches: widening", self.stalled_iterations)
        frontier = self._frontier(cfg.frontier_size * (2 if stalled else 1))
        self._iteration_frontier = frontier  # reused by _speculate after this batch is chosen
        trained = self.ranker.ready()
        # One key set for every source of this batch: a proposer step and a mutation often reach
        # the same program, which must be measured once (a second measurement wastes a trial and
        # gives one program two recorded latencies).
        batch = BatchKeys()
        if frontier and stalled:
            # A remote proposer answers from its speculative call (made from the frontier's best
            # states while the last batch was measured), so for it the widening is the deeper
            # mutation and the extra exploration; the local expert gets the wider starts.
            starts = self._widened(frontier)
            proposed = engine.finalize(self._expand(starts, width=len(starts)), batch)
        elif frontier:
            proposed = engine.finalize(self._expand(frontier), batch)
        else:
            # Nothing measured yet: one chain from each seed, seeds spread over every design space
            # (which space suits a workload matters as much as its decisions).
            seeds = [
                Frontier(pre=c.pre, latency_us=None)
                for c in engine.sample(max(cfg.seeds, len(engine.spaces)), "seed")
            ]
            proposed = engine.finalize(
                self._expand(
                    seeds,
                    width=len(seeds),
                    branching=1,
                    budget=min(cfg.first_proposer_calls, len(seeds) * cfg.chain_depth)
                    if cfg.proposer_calls_per_iter
                    else 0,
                ),
                batch,
            )
        share = self._proposer_share(trained)
        mutated = engine.finalize(engine.mutate(frontier, cfg.mutations_per_iter), batch)
        if stalled:
            mutated += self._deeper_mutations(mutated, batch, trained)
        explore = engine.finalize(engine.sample(cfg.random_per_iter), batch)
        eps = cfg.eps_greedy * (2 if stalled else 1)
        n_eps = min(len(explore), max(1, round(eps * count))) if count > 1 else 0
        n_prop = min(len(proposed), max(0, math.ceil(share * count)))
        proposed = self._ranked(proposed) if trained else _chain_ends_first(proposed)
        chosen = proposed[:n_prop]
        rest = proposed[n_prop:] + mutated + explore[n_eps:]
        rest = self._ranked(rest) if trained else rest
        chosen += rest[: max(0, count - n_eps - len(chosen))]
        chosen += explore[:n_eps]
        if len(chosen) < count:  # everything deduped away: keep exploring
            extra = engine.finalize(engine.sample(4 * count), batch)
            chosen += extra[: count - len(chosen)]
        return chosen[:count]

    def _proposer_share(self, trained: bool) -> float:
        """The batch share reserved for proposer candidates: the first-batch share until the
        ranker is trained, then ``proposer_share``, scaled by the proposer's recent hit rate when
        ``adaptive_share`` is on."""
        cfg = self.config
        high = max(cfg.proposer_share, cfg.first_proposer_share)
        if not trained:
            return high
        if not cfg.adaptive_share:
            return cfg.proposer_share
        return self.source_hits.share("proposer", base=cfg.proposer_share, low=1 / 8, high=high)

    def _widened(self, frontier: list[Frontier]) -> list[Frontier]:
        """Proposer starts of a stalled search: the best state, others drawn from the rest of
        the (deeper) frontier, and one fresh sample of every design space."""
        rest = frontier[1:]
        drawn = self.engine.rng.sample(rest, min(len(rest), self.config.beam_width - 1))
        restarts = [
            Frontier(pre=c.pre, latency_us=None)
            for c in self.engine.sample(len(self.engine.spaces), "seed")
        ]
        return [frontier[0], *drawn, *restarts]

    def _deeper_mutations(
        self, children: list[Candidate], batch: BatchKeys, trained: bool
    ) -> list[Candidate]:
        """``stall_generations`` more mutation generations, each from the favourite children of
        the last (by the ranker once it is trained, else at random): moves of several decisions
        that a single mutation of the frontier never makes."""
        engine, cfg = self.engine, self.config
        out: list[Candidate] = []
        for _ in range(cfg.stall_generations):
            if not children:
                break
            favourites = (
                self._ranked(children) if trained else engine.rng.sample(children, len(children))
            )[: cfg.frontier_size]
            parents = [Frontier(pre=c.pre, latency_us=None) for c in favourites]
            children = engine.finalize(engine.mutate(parents, cfg.mutations_per_iter // 2), batch)
            out += children
        return out

    def _speculate(self) -> None:
        """Ask a remote proposer about the current frontier while this batch is measured."""
        if self.proposer.local or self.trials_sent >= self.max_trials:
            return
        # The database has not changed since _choose: nothing of this batch is measured yet.
        frontier = self._iteration_frontier
        if not frontier:
            return
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="tvm_llm_sched-proposer"
            )
        # The proposer sees the history as of now, whatever the runner reports meanwhile.
        self._speculative_history = self.engine.history.snapshot()
        self._speculative = self._executor.submit(
            self._expand_now, frontier, history=self._speculative_history
        )

    def _expand(self, starts: list[Frontier], **budget: int) -> list[Candidate]:
        speculative, self._speculative = self._speculative, None
        if speculative is not None:
            # Proposals made while the previous batch was measured (model latency hidden).
            proposed = speculative.result()
            self.engine.history.merge_rejections(self._speculative_history)
            return proposed
        return self._expand_now(starts, **budget)

    def _expand_now(
        self, starts: list[Frontier], history: History | None = None, **budget: int
    ) -> list[Candidate]:
        # Proposer failures are data here (StepChains logs them, warning once); what could still
        # raise is a bug in the expansion itself, which must not end the user's tuning run.
        try:
            return self.engine.expand(starts, history=history, **budget)
        except Exception:
            logger.exception("proposer expansion failed; this iteration uses mutation and sampling")
            return []

    def _ranked(self, candidates: list[Candidate]) -> list[Candidate]:
        # Proposer candidates left out of the proposer share are ranked again with the rest:
        # extract their features and predict only once.
        unscored = [c for c in candidates if c.score is None]
        if unscored:
            scores = self.ranker.scores(
                [MeasureCandidate(c.sch, _args_info(c.sch)) for c in unscored]
            )
            for cand, score in zip(unscored, scores, strict=True):
                cand.score = float(score)
        return sorted(candidates, key=lambda c: -c.score)


STALL_GAIN = 0.99
"""A batch improves the search when its best beats the previous best by at least 1 %."""


def _lineage_entry(
    workload: str, cand: Candidate, key: str, latency: float | None, error: str | None
) -> LineageEntry:
    return LineageEntry(
        workload=workload,
        record=key,
        source=cand.source,
        parent=cand.parent_key,
        parent_trace=cand.parent_trace,
        steps=tuple(step.to_text() for step in cand.steps),
        mutator=cand.mutator,
        latency_us=latency,
        error=error,
    )


def _chain_ends_first(candidates: list[Candidate]) -> list[Candidate]:
    """Order proposer candidates for an unranked batch: every chain's last state first, then the
    states one step earlier, and so on (the furthest-developed proposals of every chain lead)."""
    chains: dict[int, list[Candidate]] = {}
    for cand in candidates:
        chains.setdefault(cand.chain, []).append(cand)
    rounds = max((len(c) for c in chains.values()), default=0)
    return [c[-1 - i] for i in range(rounds) for c in chains.values() if i < len(c)]


def _args_info(sch: Any) -> Any:
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo

    return ArgInfo.from_entry_func(sch.mod, remove_preproc=True)
