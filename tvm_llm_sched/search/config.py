"""Knobs of :class:`~tvm_llm_sched.search.LLMGuidedSearch` (all optional)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Budgets and mix of one LLM-guided search.

    Attributes
    ----------
    beam_width : int
        Measured states (best first) the proposer expands each iteration.
    branching : int
        Steps asked for per expanded state; each starts a chain.
    chain_depth : int
        Atomic steps per chain (each one a proposer call on the chain's current state).
    proposer_calls_per_iter : int
        Hard cap on proposer calls in one iteration (model budgets live in the proposer); 0 turns
        the proposer off (evolutionary behaviour).
    first_proposer_calls : int
        Cap on proposer calls in the first iteration instead of ``proposer_calls_per_iter``: one
        chain is followed from every seed there, so it needs more calls than later iterations.
    seeds : int
        Design-space samples that seed the search before anything is measured (at least one per
        design space, spread over the spaces); the proposer follows one chain from each.
    mutations_per_iter : int
        Candidates made by MetaSchedule's mutators (weighted by LLMMutatorProbability).
    random_per_iter : int
        Fresh design-space samples offered to the ranking each iteration.
    proposer_share : float
        Fraction of each batch reserved for proposer candidates when there are enough of them.
    first_proposer_share : float
        The same for the first batch, measured before the cost model has seen any data (random
        samples are its only alternative then).
    eps_greedy : float
        Fraction of each batch measured unranked (random samples), as in EvolutionarySearch.
    frontier_size : int
        Database top-k records kept as the frontier.
    mutator_update_every : int
        Iterations between mutator-probability updates by the proposer.
    menu_limit : int
        Legal-step menu size for proposers that read the menu.
    ranker_min_samples : int
        Measurements after which candidates are ranked by a strategy-owned XGB model while the
        task's cost model is still in its warm-up (where TVM's XGBModel scores at random); 0
        ranks with the task's cost model only.
    stall_patience : int
        Iterations without a best at least 1 % better after which the search widens (0: never):
        proposer chains start from the best state, others drawn from a frontier twice as deep
        and a fresh sample of every design space (restarts); mutation runs
        ``stall_generations`` more generations from the ranker's favourite children (larger
        moves); the unranked exploration share doubles. The next improvement narrows it again.
    stall_generations : int
        Extra mutation generations while stalled.
    adaptive_share : bool
        Once the ranker is trained, give the proposer the share of each batch its measured hit
        rate earns: ``proposer_share`` times its rate of near-best candidates (within 5 % of the
        best before their batch) over the batch-wide rate, in the last ``share_window`` batches
        (kept between 1/8 and ``first_proposer_share``). Off by default until A/B-measured.
    share_window : int
        Batches the adaptive share looks back on.
    state_dedup : bool
        Skip a proposer state whose step IR (naming-invariant canonical hash, native dedup set)
        this batch already holds or a measured state had, before paying for its replay,
        postprocessing and TVM's structural hash. The first state with a given step IR wins.
    audit_state_dedup : bool
        Still postprocess and hash the skipped states (never measure them) and count those whose
        program differs from the kept one (``SearchEngine.stats.state_collisions``); a check of
        ``state_dedup``, not for normal runs.
    """

    beam_width: int = 3
    branching: int = 3
    chain_depth: int = 6
    proposer_calls_per_iter: int = 40
    first_proposer_calls: int = 60
    seeds: int = 6
    mutations_per_iter: int = 192
    random_per_iter: int = 64
    proposer_share: float = 0.5
    first_proposer_share: float = 0.75
    eps_greedy: float = 0.05
    frontier_size: int = 8
    mutator_update_every: int = 2
    menu_limit: int = 30
    ranker_min_samples: int = 8
    stall_patience: int = 2
    stall_generations: int = 2
    adaptive_share: bool = False
    share_window: int = 4
    state_dedup: bool = True
    audit_state_dedup: bool = False

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "bool":
                if not isinstance(value, bool):
                    raise TypeError(f"SearchConfig.{field.name} must be a bool, got {value!r}")
                continue
            kinds = int if field.type == "int" else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds):
                what = "an int" if field.type == "int" else "a number"
                raise TypeError(f"SearchConfig.{field.name} must be {what}, got {value!r}")
            if value < 0:
                raise ValueError(f"SearchConfig.{field.name} must be >= 0, got {value}")
        for name in ("proposer_share", "first_proposer_share", "eps_greedy"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"SearchConfig.{name} must be within [0, 1]")

    @classmethod
    def for_proposer(cls, proposer: object) -> SearchConfig:
        """Defaults for a proposer: the full call budget for an instant one (the embedded
        policies answer in milliseconds), a lean one for a remote model (each call costs seconds
        and tokens, hidden behind measurement), and a leaner one for a model on this machine
        (its calls never overlap measurement, so each adds to the wall time). A model
        proposer's prompt profile sets the menu size."""
        profile = getattr(proposer, "profile", None)
        menu = {"menu_limit": profile.menu_limit} if profile is not None else {}
        if getattr(proposer, "instant", False):
            return cls(**menu)
        if getattr(proposer, "local", False):
            return cls.for_local_model(**menu)
        return cls(
            beam_width=2,
            branching=2,
            chain_depth=3,
            proposer_calls_per_iter=8,
            first_proposer_calls=8,
            **menu,
        )

    @classmethod
    def for_local_model(cls, **overrides: object) -> SearchConfig:
        """The call budget of a model on this machine: its calls never overlap measurement, so
        each one adds to the wall time. One call per iteration, the first included (a first call
        also pays for the uncached prompt: ~10 s on 2 cores for SmolLM2-135M), asking for
        ``branching`` steps of one state, no chains of further calls; ``overrides`` on top (the
        random control of a local model uses the same budget)."""
        return cls(
            **{
                "beam_width": 2,
                "branching": 3,
                "chain_depth": 1,
                "proposer_calls_per_iter": 1,
                "first_proposer_calls": 1,
                **overrides,
            }
        )
