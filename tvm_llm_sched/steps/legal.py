"""The menu of legal next steps of a state, with suggested parameters.

Candidates come from a few simple generators (decision edits, parallel, vectorize, splits sized
for SIMD lanes and for the L1/L2 caches, reorders, inlining, compute-at, unrolling, caching,
rfactor, reduction decomposition). Each candidate is test-applied to the state, which never
changes it, and kept only if TVM accepts it. Generators are interleaved round-robin so a small
``limit`` still shows every kind of move; the order is deterministic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

from ..errors import StepError
from .analysis import BlockFacts, LoopFacts, analyze
from .factors import divisors, fills_no_vector
from .state import State
from .step import Step

_BYTES_F32 = 4
_MAX_UNROLL = 16  # fully unrolling longer loops bloats code for little gain
_LONG_REDUCTION = 64  # reductions at least this long are worth an rfactor


def _largest_divisor_at_most(n: int, bound: int) -> int:
    return max(d for d in divisors(n) if d <= max(bound, 1))


def _cache_tile(kib: int) -> int:
    """Side of a square fp32 tile whose three operands (as in a matmul) fit in ``kib`` KiB."""
    return max(int(math.isqrt(kib * 1024 // (3 * _BYTES_F32))), 1)


class _Menu:
    """Candidate generators over one state's facts."""

    def __init__(self, state: State, lanes: int, l1_kib: int, l2_kib: int):
        self.state = state
        self.lanes = lanes
        self.tiles = [_cache_tile(l1_kib), _cache_tile(l2_kib)]
        self.loops, self.blocks = analyze(state.scheduled_mod, state.names)

    def _serial(self) -> list[LoopFacts]:
        return [f for f in self.loops.values() if f.kind == "serial" and (f.extent or 0) > 1]

    def decisions(self) -> Iterator[Step]:
        trace = self.state.trace
        for i, inst in enumerate(self.state.names.decisions):
            current = trace.get_decision(inst)
            name = f"d{i}"
            if inst.kind.name == "SamplePerfectTile":
                n, max_inner = (int(a) for a in inst.attrs)
                for tiling in self._tilings([int(d) for d in current], n, max_inner):
                    yield Step.of("set_tile", decision=name, factors=tiling)
            elif inst.kind.name == "SampleCategorical":
                for index in range(len(inst.attrs[0])):
                    if index != int(current):
                        yield Step.of("set_choice", decision=name, index=index)
            else:
                for location in (-1, int(current) + 1, int(current) - 1, -2):
                    if location != int(current) and location >= -2:
                        yield Step.of("set_compute_location", decision=name, location=location)

    def _tilings(self, current: list[int], n: int, max_inner: int) -> list[list[int]]:
        """Alternative perfect tilings: SIMD-wide innermost, then cache-sized inner tiles."""
        extent = math.prod(current)
        limit = max_inner if max_inner > 0 else extent
        out: list[list[int]] = []
        for inner in (self.lanes, *self.tiles, 1):
            inner = _largest_divisor_at_most(extent, min(inner, limit))
            rest = extent // inner
            # spread the rest over the outer levels, outermost taking what is left
            middle = [_largest_divisor_at_most(rest, 4) if k else 1 for k in range(n - 2)]
            outer = rest // math.prod(middle)
            tiling = [outer, *middle, inner] if n > 1 else [extent]
            if tiling != current and tiling not in out and math.prod(tiling) == extent:
                out.append(tiling)
        return out[:2]

    def _spatial_chains(self) -> Iterator[list[LoopFacts]]:
        """Per block, its outer loops down to the first reduction loop (unit loops skipped)."""
        for block in self.blocks.values():
            chain = []
            for name in block.loops:
                f = self.loops[name]
                if f.reduction:
                    break
                if f.spatial and (f.extent or 0) > 1:
                    chain.append(f)
            yield chain

    def parallel(self) -> Iterator[Step]:
        chains = list(self._spatial_chains())
        for chain in chains:
            if chain and chain[0].kind == "serial":
                yield Step.of("parallel", loop=chain[0].name)
        for chain in chains:  # fusing outer spatial loops gives more parallel iterations
            if len(chain) > 1 and chain[1].depth == chain[0].depth + 1:
                yield Step.of("fuse", loops=[chain[0].name, chain[1].name])

    def vectorize(self) -> Iterator[Step]:
        for f in self._serial():
            if f.innermost and f.spatial and not f.reduction and f.extent <= 4 * self.lanes:
                yield Step.of("vectorize", loop=f.name)

    def split(self) -> Iterator[Step]:
        for chain in self._spatial_chains():  # SIMD-wide inner loop for the last spatial loop
            f = chain[-1] if chain else None
            if f and f.kind == "serial" and f.extent > self.lanes and f.extent % self.lanes == 0:
                yield Step.of("split", loop=f.name, factors=[f.extent // self.lanes, self.lanes])
        for f in self._serial():  # whole vectors of a reduction no perfect tile vectorizes
            if f.innermost and f.reduction and not f.spatial and f.extent > 2 * self.lanes:
                if fills_no_vector(f.extent, self.lanes):
                    yield Step.of("split", loop=f.name, factors=[None, 2 * self.lanes])
        for tile, f in itertools.product(self.tiles, self._serial()):
            inner = _largest_divisor_at_most(f.extent, tile)
            if 1 < inner < f.extent and f.spatial and not f.reduction:
                yield Step.of("split", loop=f.name, factors=[f.extent // inner, inner])

    def reorder(self) -> Iterator[Step]:
        for block in self.blocks.values():
            chain = [self.loops[n] for n in block.loops]
            for outer, inner in itertools.pairwise(chain):
                if outer.spatial and not outer.reduction and inner.reduction:
                    yield Step.of("reorder", loops=[inner.name, outer.name])

    def inline(self) -> Iterator[Step]:
        for block in self.blocks.values():
            if not block.reduction:
                yield Step.of("compute_inline", block=block.name)
                yield Step.of("reverse_compute_inline", block=block.name)

    def compute_at(self) -> Iterator[Step]:
        blocks = list(self.blocks.values())
        for producer, consumer in itertools.pairwise(blocks):
            for loop in consumer.loops[:2]:
                yield Step.of("compute_at", block=producer.name, loop=loop)
            for loop in producer.loops[:2]:
                yield Step.of("reverse_compute_at", block=consumer.name, loop=loop)

    def unroll(self) -> Iterator[Step]:
        for f in self._serial():
            if f.innermost and f.extent <= _MAX_UNROLL:
                yield Step.of("unroll", loop=f.name)
        for f in self.loops.values():
            if f.depth == 0:
                yield Step.of("annotate", site=f.name, key="pragma_auto_unroll_max_step", value=64)

    def cache(self) -> Iterator[Step]:
        for block in self._reductions():
            yield Step.of("cache_write", block=block.name, buffer_index=0, scope="global")
            for index in range(block.reads):
                yield Step.of("cache_read", block=block.name, buffer_index=index, scope="global")

    def _reductions(self) -> list[BlockFacts]:
        return [b for b in self.blocks.values() if b.reduction]

    def rfactor(self) -> Iterator[Step]:
        for block in self._reductions():
            for name in block.loops:
                f = self.loops[name]
                if f.reduction and (f.extent or 0) >= _LONG_REDUCTION:
                    yield Step.of("rfactor", loop=name, factor_axis=0)

    def decompose(self) -> Iterator[Step]:
        for block in self._reductions():
            if block.has_init:
                first = next((n for n in block.loops if self.loops[n].reduction), None)
                if first is not None:
                    yield Step.of("decompose_reduction", block=block.name, loop=first)

    def generators(self) -> list[Iterator[Step]]:
        return [
            self.decisions(),
            self.parallel(),
            self.vectorize(),
            self.split(),
            self.reorder(),
            self.inline(),
            self.compute_at(),
            self.unroll(),
            self.cache(),
            self.rfactor(),
            self.decompose(),
        ]


def legal_steps(state: State, target: Any = None, *, limit: int = 40) -> list[Step]:
    """Applicable next steps of a state with suggested parameters, each one checked by TVM.

    Parameters
    ----------
    state : State
        The state to extend.
    target : tvm.target.Target | str | dict | None
        Sizes SIMD splits and cache tiles (:func:`~tvm_llm_sched.hardware.detect_cpu`); None means
        the host.
    limit : int
        At most this many steps are returned.

    Returns
    -------
    list of Step
        Distinct steps that :meth:`State.apply` accepts, in a deterministic order that
        interleaves the kinds of move.
    """
    from ..hardware import detect_cpu

    if limit <= 0:
        return []
    cpu = detect_cpu(target)
    menu = _Menu(state, cpu.fp32_lanes, cpu.l1d_kib or 32, cpu.l2_kib or 1024)
    out: list[Step] = []
    seen: set[Step] = set()
    pending = menu.generators()
    while pending and len(out) < limit:
        for gen in list(pending):
            step = next(gen, None)
            if step is None:
                pending.remove(gen)
                continue
            if step in seen:
                continue
            seen.add(step)
            try:
                state.apply(step)
            except StepError:
                continue  # TVM refuses it here: not on the menu
            out.append(step)
            if len(out) == limit:
                break
    return out
