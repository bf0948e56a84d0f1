"""Chains of thought grounded in evidence: the facts that motivate a step and its measured outcome.

Step-TP's chains of thought restate a strategy's definition. Ours cite what the state's typed
facts say about the sites the step touches (extents, spatial or reduction, contiguity, SIMD lanes,
cores, caches) and what the measurement said ("412 us -> 187 us, 2.2x"), in the ``<think>`` part of
the reply format the proposer parses.
"""

from __future__ import annotations

from typing import Any

from ..proposers.facts import (
    CategoricalDecision,
    ComputeLocationDecision,
    CpuFacts,
    Facts,
    TileDecision,
)
from ..steps import STEP_KINDS, Step, parse_step

_LOCATIONS = {-1: "root", -2: "inline"}


def _cpu_line(cpu: CpuFacts | None) -> str:
    if cpu is None:
        return ""
    caches = ", ".join(
        f"{name} {size} KiB"
        for name, size in (("L1d", cpu.l1d_kib), ("L2", cpu.l2_kib), ("L3", cpu.l3_kib))
        if size
    )
    return f"The CPU has {cpu.cores} cores and {cpu.simd_bits}-bit SIMD ({cpu.lanes} f32 lanes)" + (
        f"; {caches}." if caches else "."
    )


def _lanes_note(inner: int, cpu: CpuFacts | None) -> str:
    if cpu is None or inner <= 1:
        return ""
    if inner % cpu.lanes == 0:
        return f", a multiple of the {cpu.lanes} SIMD lanes"
    return f", not a multiple of the {cpu.lanes} SIMD lanes"


def _tile(fact: TileDecision, new: tuple[int, ...], cpu: CpuFacts | None) -> str:
    axis = "reduction" if fact.reduction else "spatial"
    where = f"{fact.iter} of {fact.block}" if fact.block else "a loop"
    contiguous = ", contiguous in the output" if fact.output_innermost else ""
    parallel = ""
    if cpu is not None and not fact.reduction and new[0] > 1:
        parallel = f"; the outer {new[0]} iterations can spread over the {cpu.cores} cores"
    return (
        f"{fact.name} tiles {where} ({axis}, extent {fact.extent}{contiguous}) as "
        f"{list(fact.value)}; {list(new)} makes the innermost tile {new[-1]}"
        f"{_lanes_note(new[-1], cpu) if fact.output_innermost else ''}{parallel}."
    )


def _choice(fact: CategoricalDecision, index: int) -> str:
    target = fact.target.replace("meta_schedule.", "") or "a categorical choice"
    return (
        f"{fact.name} sets {target} to {fact.candidates[index]} (was "
        f"{fact.candidates[fact.value]}; candidates {list(fact.candidates)})."
    )


def _location(fact: ComputeLocationDecision, value: Any) -> str:
    old = _LOCATIONS.get(fact.value, f"loop {fact.value}")
    new = value if isinstance(value, str) else _LOCATIONS.get(value, f"loop {value}")
    expensive = " It computes exp/log-like functions, so recomputation is costly." * fact.expensive
    return f"{fact.name} moves block {fact.block or '?'} from {old} to {new}.{expensive}"


def _loop_extents(step: Step, names: Any) -> str:
    if names is None:
        return ""
    extents = []
    for site in step.sites:
        loop = names.loops.get(site)
        extent = getattr(getattr(loop, "node", None), "extent", None)
        if extent is not None and hasattr(extent, "value"):
            extents.append(f"{site} has extent {int(extent.value)}")
    return (" " + "; ".join(extents) + ".") if extents else ""


def explain_step(step: Step | str, facts: Facts, names: Any = None) -> str:
    """What ``step`` changes, in terms of the state's facts (one or two sentences)."""
    step = parse_step(step)
    fact = facts.decision(step["decision"]) if step.is_decision_edit else None
    if isinstance(fact, TileDecision):
        return _tile(fact, tuple(step["factors"]), facts.cpu)
    if isinstance(fact, CategoricalDecision):
        return _choice(fact, step["index"])
    if isinstance(fact, ComputeLocationDecision):
        return _location(fact, step["location"])
    return f"{step.to_text()}: {STEP_KINDS[step.kind].doc}.{_loop_extents(step, names)}"


def outcome_text(before_us: float | None, after_us: float | None, error: str | None) -> str:
    """The measured outcome, e.g. ``Measured: 412 us -> 187 us (2.20x).``"""
    if error is not None or after_us is None:
        return f"Measured: it failed to build or run ({(error or 'no time').splitlines()[0]})."
    if before_us is None:
        return f"Measured: {after_us:.4g} us (the state before was not measured)."
    return f"Measured: {before_us:.4g} us -> {after_us:.4g} us ({before_us / after_us:.2f}x)."


def reasoning(
    step: Step | str,
    facts: Facts,
    *,
    before_us: float | None,
    after_us: float | None,
    error: str | None = None,
    names: Any = None,
) -> str:
    """The ``<think>`` text for one step: CPU, what the step changes, the measured outcome."""
    parts = [_cpu_line(facts.cpu), explain_step(step, facts, names)]
    parts.append(outcome_text(before_us, after_us, error))
    return " ".join(p for p in parts if p)
