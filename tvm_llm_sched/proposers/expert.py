"""The embedded expert policy: an analytical proposer that needs no model.

It reads the structured facts of a :class:`~tvm_llm_sched.proposers.base.Situation` (sampled
decisions with the iterator each acts on, CPU lanes, cores and caches) and proposes atomic decision
edits (``set_tile``, ``set_choice``, ``set_compute_location``) that move the state towards
assignments an expert would write by hand for a CPU:

- the contiguous output axis gets an innermost tile that is a multiple of the f32 SIMD width, so
  the vectorize postprocessor covers whole registers;
- outer spatial tiles give every core at least one balanced chunk of parallel work;
- the inner accumulator tile fits L1d and is large enough to amortise loop overhead;
- an input larger than L2 that a loop does not index (a linear layer's weight across the rows)
  is read from L3 about once: each parallel task's part of it fits L2, or the loop's inner
  tiles cover its extent;
- other spatial axes stay out of the innermost (vectorized) level, so the fused vector loop stays
  contiguous; reduction axes get short inner chunks;
- unrolling prefers 16-64 steps;
- a reduction keeps about 8 independent accumulator chains in flight (the innermost tile's vectors
  and rows, and the level-2 rows the unroller flattens), enough to hide the FMA latency.

Three structural moves go beyond MetaSchedule's design space, each driven by a fact about the
state: a reduction that one core runs alone is split per core and rfactored over the parts, a
reduction along contiguous memory whose extent no SIMD vector divides is split into whole vectors
(the tail guarded) and rfactored over them, and a loop nest that reads across the rows it writes
(a transpose) is tiled in two dimensions.

Candidate assignments are scored by this prior, the best distinct ones become *targets*, and each
step is one decision moved to its target value. A measured state gets local moves instead (a prime
factor moved between adjacent tile levels, the next unroll depth), because the search's cost model
then ranks fine differences better than a prior can. Decisions that the state already edited (its
``state_steps``) stay fixed, so a chain of proposals converges on one coherent target.

The rationale of each step follows Step-TP's ``<think>`` style (the strategy's definition, then what
changes where), so the policy doubles as the teacher for dataset chain-of-thought.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import zlib
from collections.abc import Iterable
from typing import Any

from ..steps.factors import divisors, tile_sizes
from ..steps.step import Step
from .base import Proposal, Proposer, RankedStep, Rejection, Situation, Validator
from .facts import (
    CategoricalDecision,
    ComputeLocationDecision,
    CpuFacts,
    Decision,
    Facts,
    StridedRead,
    TileDecision,
)

_DEFINITIONS = {
    "set_tile": "loop_tiling: re-split one loop into the sampled tile levels (outer to inner).",
    "set_choice": "loop_unrolling: choose the maximal auto-unroll depth of the inner loops.",
    "set_compute_location": "compute_at: choose where a producer block is computed.",
}
_UNROLL_PRIOR = {0: 0.75, 16: 1.0, 64: 1.0, 512: 0.85}
# Independent vector accumulators a reduction needs to keep the adders busy: about 4 cycles of
# FMA/add latency times 2 issue ports on current x86 cores. One vector of partial sums runs at an
# eighth of that: on NRM:1, 16 partials take 20.8 us, 32 take 10.1 us and 64 take 7.0 us.
_ACCUMULATORS = 8


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExpertConfig:
    """Knobs of the expert policy.

    Attributes
    ----------
    samples : int
        Random assignments scored per proposal (the target search).
    targets : int
        Distinct best assignments turned into steps.
    seed : int
        Seed of the (deterministic) sampling; mixed with the state's IR.
    """

    samples: int = 1500
    targets: int = 6
    seed: int = 0


def _factorizations(extent: int, n: int, max_innermost: int) -> list[tuple[int, ...]]:
    """All ordered n-factor splits of ``extent`` whose innermost factor is <= max_innermost."""
    if n == 1:
        return [(extent,)] if extent <= max_innermost or n > 1 else []
    out = []
    for first in divisors(extent):
        for rest in _factorizations(extent // first, n - 1, max_innermost):
            out.append((first,) + rest)
    return out


def _value(fact: Decision) -> Any:
    """A decision's value as the scorer compares it: a list for tilings (as the options are)."""
    return list(fact.value) if isinstance(fact, TileDecision) else fact.value


class _Scorer:
    """The analytical prior over a full assignment of decision values."""

    def __init__(self, decisions: list[Decision], cpu: CpuFacts | None):
        self.decisions = {d.name: d for d in decisions}
        self.lanes = int((cpu.lanes if cpu else 0) or 8)
        self.cores = int((cpu.cores if cpu else 0) or 1)
        self.l1_floats = int((cpu.l1d_kib if cpu else 0) or 32) * 1024 // 4
        # An input's part fits when it takes at most half of L2: the task's other operands share it.
        self.l2_share = int((cpu.l2_kib if cpu else 0) or 256) * 1024 // 2

    def tile_options(self, fact: TileDecision) -> list[tuple[int, ...]]:
        """Plausible tilings of one tile decision (the rule-based filter)."""
        options = _factorizations(fact.extent, fact.n, fact.max_innermost)
        n = fact.n
        level = fact.rfactor_level
        if level is not None:
            # The rfactored level holds the partial results: a vector of them when innermost,
            # a parallel loop over them when outer.
            if level == n - 1:
                most = _ACCUMULATORS * self.lanes
                keep = [o for o in options if o[-1] % self.lanes == 0 and o[-1] <= most]
            else:
                keep = [
                    o for o in options if o[level] % self.cores == 0 and o[level] <= 16 * self.cores
                ]
            return keep or options
        if fact.reduction:
            keep = [o for o in options if o[-1] <= 16]
        elif fact.output_innermost:
            keep = [o for o in options if o[-1] % self.lanes == 0] or [
                o for o in options if o[-1] == max(p[-1] for p in options)
            ]
        else:
            keep = [o for o in options if o[-1] <= 2]
        return keep or options

    def score(self, values: dict[str, Any]) -> float:
        """Prior in (0, 1]: product of vectorization, parallelism, cache and granularity terms."""
        score = 1.0
        blocks: dict[str, list[tuple[TileDecision, tuple[int, ...]]]] = {}
        unroll = 0
        for name, value in values.items():
            fact = self.decisions[name]
            if isinstance(fact, TileDecision) and fact.rfactor_level is not None:
                score *= self._rfactor_score(fact, tuple(value))
            elif isinstance(fact, TileDecision):
                blocks.setdefault(fact.block or "", []).append((fact, tuple(value)))
            elif isinstance(fact, CategoricalDecision) and "unroll" in fact.target:
                unroll = fact.candidates[value]
                score *= _UNROLL_PRIOR.get(unroll, 0.8)
        for tiles in blocks.values():
            score *= self._block_score(tiles, unroll)
        return score

    def _rfactor_score(self, fact: TileDecision, value: tuple[int, ...]) -> float:
        """An rfactored reduction: its partial results should fill whole vectors, enough of them
        to hide the adder latency (innermost level), or every core (outer level), and each partial
        still reduces a long run."""
        level = fact.rfactor_level
        partials = value[level]
        if level == len(value) - 1:
            vectors = math.ceil(partials / self.lanes)
            fill = partials / (vectors * self.lanes)
            fill *= min(1.0, vectors / _ACCUMULATORS) ** 0.5
            size = 1.0 if vectors <= _ACCUMULATORS else 0.9
        else:
            fill = min(1.0, partials / self.cores)
            fill *= 0.5 + 0.5 * partials / (math.ceil(partials / self.cores) * self.cores)
            size = 1.0 if partials <= 16 * self.cores else 0.9
        run = fact.extent // max(1, partials)
        return fill * size * min(1.0, run / (4 * self.lanes)) ** 0.5

    def _block_score(self, tiles: list[tuple[TileDecision, tuple[int, ...]]], unroll: int) -> float:
        spatial = [(f, v) for f, v in tiles if not f.reduction]
        reduction = [(f, v) for f, v in tiles if f.reduction]
        score = 1.0
        for fact, value in spatial:
            inner = value[-1]
            if fact.output_innermost:
                full = math.ceil(inner / self.lanes) * self.lanes
                score *= inner / full if fact.extent >= self.lanes else 1.0
                score *= 1.0 if inner <= 4 * self.lanes else 0.9
            elif len(value) > 1:
                score *= {1: 1.0, 2: 0.85}.get(inner, 0.6)
        parallel = math.prod(v[0] for _, v in spatial if len(v) > 1)
        if parallel < self.cores:
            # The postprocessor fuses outer levels; count the second level when the first is small.
            parallel = math.prod(v[0] * v[1] for _, v in spatial if len(v) > 2)
        balance = parallel / (math.ceil(parallel / self.cores) * self.cores)
        score *= min(1.0, parallel / self.cores) * (0.5 + 0.5 * balance)
        # The accumulator tile (levels inside the outer reduction loop) should fit L1d.
        acc = math.prod(math.prod(v[2:]) for _, v in spatial if len(v) > 2) or 1
        work = acc * math.prod(v[-1] for _, v in reduction)
        score *= 1.0 if acc * 4 <= self.l1_floats else (self.l1_floats / (acc * 4)) ** 0.5
        score *= min(1.0, work / (4 * self.lanes)) ** 0.5
        for _, value in reduction:
            score *= 1.0 if 2 <= value[-1] <= 8 else 0.9
        if reduction:
            score *= min(1.0, self._chains(spatial, reduction, unroll) / _ACCUMULATORS) ** 0.5
        return score * self._reuse_score(spatial)

    def _chains(
        self,
        spatial: list[tuple[TileDecision, tuple[int, ...]]],
        reduction: list[tuple[TileDecision, tuple[int, ...]]],
        unroll: int,
    ) -> int:
        """Independent accumulator chains the inner loops expose to the core.

        Each chain is one accumulator of the innermost tile: a vector of the output axis times one
        row of each other axis' innermost factor. MetaSchedule's CPU tiling (SSRSRS: spatial tiles
        of 4 levels, loops S0 S1 R0 S2 R1 S3) puts level 2 outside the inner reduction R1; the
        auto-unroller flattens those loops too (innermost axis first) while the unrolled body, R1
        included, stays within its depth, and their accumulators then interleave. On znver3,
        DIL:0's top-scored programs ran one FMA chain (3x the best); GMM:1's fastest hold 1-2
        vectors innermost and 4-8 rows at level 2, unrolled.
        """
        rows = math.prod(v[-1] for f, v in spatial if len(v) > 1 and not f.output_innermost)
        chains = rows * math.prod(
            math.ceil(v[-1] / self.lanes) for f, v in spatial if f.output_innermost
        )
        body = rows * math.prod(v[-1] for _, v in reduction)
        for level2 in reversed([v[2] for _, v in spatial if len(v) == 4]):
            if body * level2 > unroll:
                break
            body *= level2
            chains *= level2
        return chains

    def _reuse_score(self, spatial: list[tuple[TileDecision, tuple[int, ...]]]) -> float:
        """Reads of inputs larger than L2 from L3 or memory, against reading each once.

        MetaSchedule's multi-level tiling runs all outer levels (level 0, parallel), then all
        level-1 tiles, then the reduction. A level-0 task reads the part of input ``X`` its
        level-0 tiles select; the loops that do not index ``X`` read that part again on every
        level-1 step, from L3 when it does not fit (half of) L2. On a 2-core znver3, 64x1024x256
        matmuls whose reads of their 1 MiB weight came to 16, 4 and 2 MiB ran in 688, 510 and
        302 us.
        """
        large = {
            name: size
            for fact, _ in spatial
            for name, size in zip(fact.reused, fact.reused_bytes, strict=False)
            if size > self.l2_share
        }
        if not large:
            return 1.0
        tiled = [(fact, value) for fact, value in spatial if len(value) > 2]
        traffic = 0
        for name, size in large.items():
            reusing = [value for fact, value in tiled if name in fact.reused]
            indexing = [value for fact, value in tiled if name not in fact.reused]
            reads = math.prod(value[0] for value in reusing)
            if size / math.prod(value[0] for value in indexing) > self.l2_share:
                reads *= math.prod(value[1] for value in reusing)
            traffic += size * reads
        return (sum(large.values()) / traffic) ** 0.5


class ExpertPolicy(Proposer):
    """Analytical CPU scheduling policy over MetaSchedule decisions (the default proposer).

    Parameters
    ----------
    config : ExpertConfig | None
        Sampling knobs; defaults are fine.

    Examples
    --------
    >>> from tvm_llm_sched.proposers import ExpertPolicy
    >>> policy = ExpertPolicy()
    >>> proposal = policy.propose(situation, k=4)  # doctest: +SKIP
    >>> proposal.steps[0].step                      # doctest: +SKIP
    'set_tile(d2, [1, 1, 2, 16])'
    """

    name = "expert"
    # Compute-location options come from the facts; the costly legal-step menu is not needed.
    needs_menu = False
    local = True
    instant = True

    def __init__(self, *, config: ExpertConfig | None = None):
        self.config = config or ExpertConfig()

    @staticmethod
    def prior(facts: Facts) -> float:
        """The prior's score in (0, 1] of the decisions ``facts`` describe, as they are (what the
        policy maximizes when it picks targets; ``python/prior_fit.py`` checks it against measured
        programs)."""
        decisions = list(facts.decisions)
        return _Scorer(decisions, facts.cpu).score({d.name: _value(d) for d in decisions})

    # -- Proposer --------------------------------------------------------------------------------
    def propose(
        self, situation: Situation, *, k: int = 4, validate: Validator | None = None
    ) -> Proposal:
        """Ranked decision edits for ``situation`` (menu-ranked steps when it has no decisions)."""
        decisions = list(situation.facts.decisions)
        if decisions:
            ranked = self._decision_steps(situation, decisions)
        else:
            ranked = self._menu_steps(situation)
        ranked = (
            self._parallel_reduction_steps(situation)
            + self._indivisible_reduction_steps(situation)
            + self._strided_read_steps(situation)
            + ranked
        )
        refused = {rejection.step for rejection in situation.rejections}
        return self._validated([r for r in ranked if r.step.to_text() not in refused], k, validate)

    # -- targets and moves -----------------------------------------------------------------------
    def _rng(self, situation: Situation) -> random.Random:
        return random.Random(zlib.crc32(situation.ir.encode()) ^ self.config.seed)

    def _decision_steps(self, situation: Situation, decisions: list[Decision]) -> list[RankedStep]:
        scorer = _Scorer(decisions, situation.facts.cpu)
        current = {d.name: _value(d) for d in decisions}
        edited = _edited_decisions(situation.state_steps)
        options = self._options(scorer, decisions, situation.menu, edited)
        for name, valid in _valid_locations(situation.rejections).items():
            # Rejections come from every state of the task, and decision names are numbered per
            # design space: only a compute-location decision here can use a learned location list.
            fact = scorer.decisions.get(name)
            if isinstance(fact, ComputeLocationDecision) and name not in edited:
                options[name] = sorted(set(valid) | {current[name]})
        if situation.state_latency_us is not None:
            steps = self._local_moves(scorer, decisions, current, options)
            steps += self._target_steps(situation, scorer, decisions, current, options)[:2]
        else:
            steps = self._target_steps(situation, scorer, decisions, current, options)
        return steps

    def _options(
        self,
        scorer: _Scorer,
        decisions: list[Decision],
        menu: Iterable[Step],
        edited: set[str],
    ) -> dict[str, list[Any]]:
        """Values each decision may take in a target (edited decisions stay as they are)."""
        locations: dict[str, list[int]] = {}
        for step in menu:
            if step.kind == "set_compute_location" and isinstance(step["location"], int):
                locations.setdefault(step["decision"], []).append(step["location"])
        options: dict[str, list[Any]] = {}
        for fact in decisions:
            name = fact.name
            if name in edited:
                options[name] = [_value(fact)]
            elif isinstance(fact, TileDecision):
                options[name] = [list(o) for o in scorer.tile_options(fact)]
            elif isinstance(fact, CategoricalDecision):
                options[name] = list(range(len(fact.candidates)))
            elif fact.expensive and fact.value == -2:
                # An inlined exp/log/... is recomputed by every consumer: move it out. Without a
                # menu: root and the outer loops; illegal ones are rejected by the caller's
                # validator and the next step is taken.
                options[name] = [v for v in locations.get(name) or [-1, 0, 1, 2, 3] if v != -2]
            else:
                # The prior cannot judge other locations: keep the sampled one (the search samples
                # others and measures them) instead of moving it at random.
                options[name] = [fact.value]
        return options

    def _target_steps(
        self,
        situation: Situation,
        scorer: _Scorer,
        decisions: list[Decision],
        current: dict[str, Any],
        options: dict[str, list[Any]],
    ) -> list[RankedStep]:
        rng = self._rng(situation)
        names = [d.name for d in decisions]
        seen: dict[str, tuple[float, dict[str, Any]]] = {}
        for _ in range(self.config.samples):
            values = {name: rng.choice(options[name]) for name in names}
            key = repr(sorted(values.items()))
            if key not in seen:
                seen[key] = (scorer.score(values), values)
        targets = sorted(seen.values(), key=lambda item: -item[0])[: self.config.targets]
        base = scorer.score(current)
        steps: list[RankedStep] = []
        for rank, (target_score, target) in enumerate(targets):
            changes = [n for n in names if target[n] != current[n]]
            # Within one target, the edit that gains most on its own goes first.
            changes.sort(key=lambda n: -scorer.score({**current, n: target[n]}))
            for name in changes:
                gain = scorer.score({**current, name: target[name]}) - base
                steps.append(
                    self._step(scorer.decisions[name], target[name], gain, target_score, rank)
                )
        return steps

    @staticmethod
    def _parallel_reduction_steps(situation: Situation) -> list[RankedStep]:
        """Spread a reduction that one core runs alone over all cores, beyond the design space:
        split its loop into one part per core, then rfactor over the parts (two steps, one per
        proposal; the postprocessor parallelizes the parts). On NRM:1 with 2 cores this takes the
        rfactored sum of squares from 6.5 us to 4.2 us."""
        cpu = situation.facts.cpu
        cores = int((cpu.cores if cpu else 0) or 1)
        steps = []
        for fact in situation.facts.serial_reductions:
            if fact.action == "split":
                step = Step.of("split", loop=fact.loop, factors=[cores, None])
                what = f"splits its reduction loop {fact.loop} (extent {fact.extent}) into "
                what += f"{cores} parts, one per core, for an rfactor over them"
            else:
                step = Step.of("rfactor", loop=fact.loop, factor_axis=0)
                what = f"computes one partial result per part of {fact.loop}, in parallel"
            steps.append(
                RankedStep(
                    step=step,
                    rationale=f"Block {fact.block} runs its whole reduction on one core; "
                    f"this {what}.",
                    score=1.0,
                )
            )
        return steps

    @staticmethod
    def _indivisible_reduction_steps(situation: Situation) -> list[RankedStep]:
        """Vectorize a reduction whose extent no SIMD vector divides, beyond the design space
        (whose rfactor tiles perfectly): split its loop into whole vectors, the tail guarded,
        then rfactor over them. One step per proposal; the split offers the fact's width and half
        of it (while that is still a vector), and the search measures both. On znver5 (re-timed,
        64 trials) a mean over 333 rows of 1777 fp32 goes from 163 us to 22 us."""
        steps = []
        for fact in situation.facts.indivisible_reductions:
            if fact.action == "rfactor":
                axis = fact.factor_axis if fact.factor_axis is not None else 0
                choices = [
                    (
                        Step.of("rfactor", loop=fact.loop, factor_axis=axis),
                        f"sums {fact.parts} partial results per output, a vector of them at a time",
                    )
                ]
            else:
                half = fact.parts // 2
                widths = [fact.parts] + ([half] if half >= fact.lanes else [])
                choices = [
                    (
                        Step.of("split", loop=fact.loop, factors=[None, parts]),
                        f"splits {fact.loop} (extent {fact.extent}) into chunks of {parts}, the "
                        "last one guarded, for an rfactor over them",
                    )
                    for parts in widths
                ]
            why = (
                f"Block {fact.block} sums along contiguous memory one element at a time (no "
                f"vector divides {fact.extent})"
            )
            steps += _structural_steps(why, choices)
        return steps

    @staticmethod
    def _strided_read_steps(situation: Situation) -> list[RankedStep]:
        """Tile a transpose-like loop nest in two dimensions, beyond the design space (which does
        not tile a block without reduction): the write loop to two SIMD vectors or one, the read
        loop to four cache lines or one (a near divisor when neither divides), then the read tile
        just outside the write tile. One step per proposal; the wider tile comes first, and the
        search measures the alternatives. On znver5 (re-timed) a 512x768 fp32 transpose goes from
        149 us to 41 us, a transpose fused with an add (1024x384) from 132 us to 50 us."""
        steps = []
        for fact in situation.facts.strided_reads:
            if fact.action == "reorder":
                what = f"moves the read tile {fact.loops[-1]} inside {', '.join(fact.loops[:-1])}"
                choices = [(Step.of("reorder", loops=list(fact.loops)), what)]
            else:
                widest = StridedRead.WIDEST_UNITS[fact.side or "write"]
                choices = [
                    (
                        Step.of("split", loop=fact.loop, factors=[fact.extent // tile, tile]),
                        f"tiles its {fact.side} loop {fact.loop} (extent {fact.extent}) by {tile}",
                    )
                    for tile in tile_sizes(fact.extent, fact.unit or 1, widest)
                ]
            why = (
                f"Block {fact.block} writes along its innermost loop but reads {fact.buffer} "
                "across rows, one element per cache line"
            )
            steps += _structural_steps(why, choices)
        return steps

    def _local_moves(
        self,
        scorer: _Scorer,
        decisions: list[Decision],
        current: dict[str, Any],
        options: dict[str, list[Any]],
    ) -> list[RankedStep]:
        """Neighbours of a measured state: one prime factor moved between adjacent tile levels."""
        moves: list[tuple[float, str, Any]] = []
        for fact in decisions:
            name, value = fact.name, _value(fact)
            allowed = options[name]
            if isinstance(fact, TileDecision):
                for i, j in itertools.permutations(range(len(value)), 2):
                    if abs(i - j) != 1:
                        continue
                    for prime in {p for p in (2, 3, 5, 7) if value[i] % p == 0}:
                        moved = list(value)
                        moved[i] //= prime
                        moved[j] *= prime
                        if moved in allowed:
                            moves.append((scorer.score({**current, name: moved}), name, moved))
            else:
                for other in allowed:
                    if other != value:
                        moves.append((scorer.score({**current, name: other}), name, other))
        moves.sort(key=lambda item: -item[0])
        base = scorer.score(current)
        return [
            self._step(scorer.decisions[name], value, score - base, score, 0)
            for score, name, value in moves
        ]

    def _step(
        self, fact: Decision, value: Any, gain: float, target_score: float, rank: int
    ) -> RankedStep:
        if isinstance(fact, TileDecision):
            step = Step.of("set_tile", decision=fact.name, factors=list(value))
            role = (
                "reduction"
                if fact.reduction
                else "contiguous output"
                if fact.output_innermost
                else "spatial"
            )
            where = f"the {role} axis {fact.iter or '?'} of block {fact.block or '?'}"
            detail = f"tiles {where} (extent {fact.extent}) as {list(value)}"
            definition = _DEFINITIONS["set_tile"]
        elif isinstance(fact, CategoricalDecision):
            step = Step.of("set_choice", decision=fact.name, index=value)
            detail = f"sets {fact.target or 'the choice'} to {fact.candidates[value]}"
            definition = _DEFINITIONS["set_choice"]
        else:
            step = Step.of("set_compute_location", decision=fact.name, location=value)
            detail = f"computes block {fact.block or '?'} at location {value}"
            definition = _DEFINITIONS["set_compute_location"]
        rationale = (
            f"{definition} Under the given IR, {fact.name} {detail}; target #{rank + 1} "
            f"scores {target_score:.3f} on the CPU prior (gain {gain:+.3f})."
        )
        return RankedStep(step=step, rationale=rationale, score=round(target_score, 6))

    def _menu_steps(self, situation: Situation) -> list[RankedStep]:
        """States without sampled decisions: rank the legal menu by a fixed CPU priority."""
        priority = ("parallel", "vectorize", "split", "compute_inline", "unroll", "annotate")

        def rank(step: Step) -> int:
            return priority.index(step.kind) if step.kind in priority else len(priority)

        return [
            RankedStep(step=step, rationale=f"{step.kind}: CPU default priority.")
            for step in sorted(situation.menu, key=rank)
        ]

    @staticmethod
    def _validated(ranked: list[RankedStep], k: int, validate: Validator | None) -> Proposal:
        steps: list[RankedStep] = []
        rejections: list[Rejection] = []
        seen: set[Step] = set()
        for item in ranked:
            if len(steps) >= k:
                break
            if item.step in seen:
                continue
            seen.add(item.step)
            rejection = validate(item.step) if validate is not None else None
            if rejection is None:
                steps.append(item)
            else:
                rejections.append(rejection)
        reasoning = "\n".join(step.rationale for step in steps)
        return Proposal(steps=tuple(steps), rejections=tuple(rejections), reasoning=reasoning)


def _structural_steps(why: str, choices: list[tuple[Step, str]]) -> list[RankedStep]:
    """Steps of a structural move beyond the design space, each ``(step, what it does)``, ranked
    ahead of the prior's edits, with ``why`` (the fact) in their rationale."""
    return [
        RankedStep(step=step, rationale=f"{why}; this {what}.", score=1.0) for step, what in choices
    ]


def _edited_decisions(state_steps: Iterable[Step]) -> set[str]:
    """Decisions named by decision edits already applied to the state."""
    return {step["decision"] for step in state_steps if step.is_decision_edit}


def _valid_locations(rejections: Iterable[Rejection]) -> dict[str, list[int]]:
    """Compute locations the step language said are valid, learned from recent rejections."""
    return {
        r.decision: list(r.valid_values)
        for r in rejections
        if r.decision is not None and r.valid_values
    }
