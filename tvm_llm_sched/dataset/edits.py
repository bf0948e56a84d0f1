"""Two records of one design space, told apart as atomic decision edits.

MetaSchedule samples every candidate of a design space from the same trace skeleton (the
instructions before ``EnterPostproc``) and differs only in the sampled decisions. Two records with
the same skeleton therefore differ by a list of decision edits in the step language
(``set_tile``, ``set_choice``, ``set_compute_location``), one per differing decision, with the
decisions named ``d0, d1, ...`` in trace order exactly as the step IR names them. Records whose
skeletons differ (a structural proposer step, a ``MutateParallel`` that rewrote an annotation) are
not comparable this way.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..ir.naming import SAMPLE_KINDS
from ..steps import Step
from ..steps.appliers import COMPUTE_LOCATION_NAMES

_LOCATION_LABELS = {value: name for name, value in COMPUTE_LOCATION_NAMES.items()}


def _pre_postproc(insts: list[Any]) -> list[Any]:
    for index, inst in enumerate(insts):
        if inst and inst[0] == "EnterPostproc":
            return insts[:index]
    return insts


def without_postproc(trace_json: Any) -> Any:
    """A trace JSON cut before ``EnterPostproc`` (its decisions with it): the schedule a search
    builds on, which MetaSchedule's postprocessors turn into the measured program."""
    insts, decisions = trace_json
    kept = _pre_postproc(insts)
    return [kept, [d for d in decisions if d[0] < len(kept)]]


def decision_value(step: Step) -> Any:
    """The value a decision edit sets, as a trace stores it (``root``/``inline`` as -1/-2)."""
    value = step.args[1][1]
    if isinstance(value, tuple):
        return list(value)
    return COMPUTE_LOCATION_NAMES.get(value, value) if isinstance(value, str) else value


def skeleton_key(trace_json: Any) -> str:
    """A hash of a trace's instructions before postprocessing (decisions left out): records with
    equal keys are samples of one design space."""
    insts = _pre_postproc(trace_json[0])
    return hashlib.sha256(json.dumps(insts, separators=(",", ":")).encode()).hexdigest()[:16]


def sampled_decisions(trace_json: Any) -> dict[int, tuple[str, Any]]:
    """Decision number (``d<n>``) -> (sampling instruction kind, decided value) of a trace."""
    insts, decisions = trace_json
    insts = _pre_postproc(insts)
    number = {}
    for index, inst in enumerate(insts):
        if inst and inst[0] in SAMPLE_KINDS:
            number[index] = len(number)
    out = {}
    for index, value in decisions:
        if index in number:
            out[number[index]] = (insts[index][0], value)
    return out


def _edit(name: str, kind: str, value: Any) -> Step:
    if kind == "SamplePerfectTile":
        return Step.of("set_tile", decision=name, factors=[int(v) for v in value])
    if kind == "SampleCategorical":
        return Step.of("set_choice", decision=name, index=int(value))
    location = _LOCATION_LABELS.get(int(value), int(value))
    return Step.of("set_compute_location", decision=name, location=location)


def decision_edits(before_json: Any, after_json: Any) -> list[Step] | None:
    """The decision edits that turn ``before``'s decisions into ``after``'s, in trace order.

    Returns ``None`` when the two traces are not samples of one design space (different
    skeletons, or a decision present in only one of them), and ``[]`` when they decide alike.
    """
    if skeleton_key(before_json) != skeleton_key(after_json):
        return None
    before, after = sampled_decisions(before_json), sampled_decisions(after_json)
    if before.keys() != after.keys():
        return None
    return [
        _edit(f"d{number}", kind, value)
        for number, (kind, value) in sorted(after.items())
        if before[number][1] != value
    ]


def edit_distance(before_json: Any, after_json: Any) -> int | None:
    """How many decisions differ (``None``: not one design space)."""
    edits = decision_edits(before_json, after_json)
    return None if edits is None else len(edits)
