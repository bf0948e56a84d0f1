"""Follow a proposer from a state, one validated atomic step at a time."""

from __future__ import annotations

from typing import Any

from ..errors import StepError
from .base import Proposer
from .facts import build_situation


def validator_for(state: Any):
    """A ``validate`` callback for :meth:`Proposer.propose`: the step language's reason or None."""

    def validate(text: str) -> str | None:
        try:
            state.apply(text)
        except StepError as exc:
            return str(exc)
        return None

    return validate


def follow(
    proposer: Proposer,
    state: Any,
    *,
    workload: str,
    target: Any = None,
    depth: int = 8,
    history: Any = None,
    menu_limit: int = 30,
) -> tuple[list[Any], int]:
    """Apply the proposer's best step repeatedly, starting from ``state``.

    Parameters
    ----------
    proposer : Proposer
        Where the steps come from.
    state : tvm_llm_sched.steps.State
        The start.
    workload : str
        Workload name shown to the proposer.
    target : tvm.target.Target | str | dict | None
        Sizes the hardware facts.
    depth : int
        At most this many steps (and proposer calls).
    history : object | None
        The search's history (``best_latency_us``, ``recent``, ``rejections`` and ``reject(step,
        reason)``); rejections are recorded there.
    menu_limit : int
        Menu size for proposers that read the menu.

    Returns
    -------
    tuple[list[State], int]
        The states after each applied step (possibly empty) and the proposer calls made. The
        chain stops early when the proposer has no valid step or reports an error.
    """
    states: list[Any] = []
    calls = 0
    while calls < depth:
        situation = build_situation(
            state,
            workload=workload,
            target=target,
            menu_limit=menu_limit if proposer.needs_menu else 0,
            history=history,
        )
        proposal = proposer.propose(situation, k=1, validate=validator_for(state))
        calls += 1
        if history is not None:
            for rejection in proposal.rejections:
                history.reject(rejection.step, rejection.reason)
        if proposal.error or not proposal.steps:
            break
        step = proposal.steps[0].step
        try:
            state = state.apply(step)
        except StepError as exc:  # the proposer skipped validation
            if history is not None:
                history.reject(step, str(exc))
            break
        states.append(state)
    return states, calls
