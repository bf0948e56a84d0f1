"""The one proposer loop: situation -> propose -> validate -> apply -> record rejections.

:class:`StepChains` asks a proposer about a state (through a :class:`SituationBuilder`), checks
each proposed step against the live state, and follows the best step from state to state. The
search's beam expansion and every offline tool (``bench_expert``, tests) use this loop; nothing
else calls :meth:`Proposer.propose` on a state.

A proposer that fails (returns :attr:`Proposal.error`, or raises, which a proposer should not)
is logged here: a warning the first time in a run, INFO afterwards, so one failing endpoint warns
once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..errors import IllegalStepError, StepError
from ..proposers.base import Proposal, Proposer, Rejection, Situation, Validator
from ..steps import Step
from .situation import SituationBuilder

logger = logging.getLogger("tvm_llm_sched.search")


def rejection_of(step: Step, exc: StepError) -> Rejection:
    """The :class:`Rejection` of ``step`` for the step language's error ``exc`` (with the valid
    values of a refused decision edit, when the error names them)."""
    valid = exc.valid_values if isinstance(exc, IllegalStepError) else ()
    return Rejection(
        step=step.to_text(),
        reason=str(exc),
        decision=step["decision"] if step.is_decision_edit else None,
        valid_values=valid,
    )


def validator_for(state: Any) -> Validator:
    """A ``validate`` callback for :meth:`Proposer.propose` on ``state``: ``None`` if a step
    applies, else its :class:`Rejection`."""

    def validate(step: Step) -> Rejection | None:
        try:
            state.apply(step)
        except StepError as exc:
            return rejection_of(step, exc)
        return None

    return validate


class StepChains:
    """Asks a proposer for steps and follows them, one validated atomic step at a time.

    Parameters
    ----------
    proposer : Proposer
        Where the steps come from.
    situations : SituationBuilder
        Turns states into what the proposer sees.

    Attributes
    ----------
    journal : callable | None
        Called as ``journal(situation, k, steps)`` after every proposer call that answered, with
        the steps it proposed (the search's lineage side file records them).
    """

    def __init__(self, proposer: Proposer, situations: SituationBuilder):
        self.proposer = proposer
        self.situations = situations
        self.failed = False  # a proposer failure was warned about in this run
        self.journal: Callable[[Situation, int, list[Step]], None] | None = None

    @classmethod
    def for_proposer(
        cls, proposer: Proposer, *, workload: str, target: Any = None, menu_limit: int = 30
    ) -> StepChains:
        """Chains for ``proposer``; ``menu_limit`` applies only to proposers that read the menu
        (:attr:`Proposer.needs_menu`: building it costs 50-500 ms per state)."""
        situations = SituationBuilder(
            workload=workload, target=target, menu_limit=menu_limit if proposer.needs_menu else 0
        )
        return cls(proposer, situations)

    def ask(
        self, state: Any, *, k: int, latency_us: float | None = None, history: Any = None
    ) -> Proposal:
        """The proposer's validated steps for ``state``; rejections go into ``history``.

        Never raises: a proposer exception becomes :attr:`Proposal.error`.
        """
        situation = None
        try:
            # Facts are read from TVM objects of any program a user tunes: a fact that cannot be
            # read fails this call like a proposer error, not the tuning run.
            situation = self.situations.build(state, latency_us=latency_us, history=history)
            proposal = self.proposer.propose(situation, k=k, validate=validator_for(state))
        except Exception as exc:  # a proposer is user code; tuning must go on
            where = "proposer %s raised" if situation is not None else "situation for %s failed"
            logger.debug(where, self.proposer.name, exc_info=True)
            proposal = Proposal(error=f"{type(exc).__name__}: {exc}")
        if history is not None:
            for rejection in proposal.rejections:
                history.reject(rejection)
        if self.journal is not None and situation is not None and not proposal.error:
            self.journal(situation, k, [ranked.step for ranked in proposal.steps])
        if proposal.error:
            log = logger.info if self.failed else logger.warning
            log(
                "proposer %s failed (%s); the search uses mutation and sampling until it answers%s",
                self.proposer.name,
                proposal.error,
                "" if self.failed else " (further failures are logged at INFO)",
            )
            self.failed = True
        return proposal

    def apply(self, state: Any, step: Step, history: Any = None) -> Any | None:
        """``state`` after ``step``, or ``None`` (recorded in ``history``) if it does not apply
        (a proposer that skipped validation)."""
        try:
            return state.apply(step)
        except StepError as exc:
            if history is not None:
                history.reject(rejection_of(step, exc))
            return None

    def follow(self, state: Any, *, depth: int, history: Any = None) -> tuple[list[Any], int]:
        """Apply the proposer's best step repeatedly, starting from ``state``.

        Returns
        -------
        tuple[list[State], int]
            The states after each applied step (possibly empty) and the proposer calls made; the
            chain stops early when the proposer has no valid step or fails.
        """
        states: list[Any] = []
        calls = 0
        while calls < depth:
            proposal = self.ask(state, k=1, history=history)
            calls += 1
            if proposal.error or not proposal.steps:
                break
            state = self.apply(state, proposal.steps[0].step, history)
            if state is None:
                break
            states.append(state)
        return states, calls


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
    """:meth:`StepChains.follow` without keeping the chains object (offline tools, tests)."""
    chains = StepChains.for_proposer(
        proposer, workload=workload, target=target, menu_limit=menu_limit
    )
    return chains.follow(state, depth=depth, history=history)
