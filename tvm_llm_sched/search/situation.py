"""What the proposer is shown: a step-language state turned into a :class:`Situation`.

This is the search side of the proposer boundary. The search owns the live state, the target and
the history; a proposer only ever receives the plain-data :class:`Situation` built here (step IR,
hardware line, typed facts, legal-step menu, latencies, recent outcomes and rejections).
"""

from __future__ import annotations

from typing import Any

from ..proposers.base import Situation
from .facts import state_facts


class SituationBuilder:
    """Builds the situations of one task's states.

    Parameters
    ----------
    workload : str
        Workload name shown to the proposer.
    target : tvm.target.Target | str | dict | None
        Sizes the hardware facts; None means the host.
    menu_limit : int
        Legal steps to list (0: no menu; building it costs 50-500 ms per state, so proposers that
        do not read it, like the expert policy, get none).

    Examples
    --------
    >>> builder = SituationBuilder(workload="GMM:1", target=None, menu_limit=0)  # doctest: +SKIP
    >>> builder.build(state).ir  # doctest: +SKIP
    """

    def __init__(self, *, workload: str, target: Any = None, menu_limit: int = 0):
        from ..hardware import detect_cpu
        from ..ir import hardware_summary

        self.workload = workload
        self.target = target
        self.menu_limit = menu_limit
        self.cpu = detect_cpu(target)
        self.hardware = hardware_summary(target)

    def build(
        self, state: Any, *, latency_us: float | None = None, history: Any = None
    ) -> Situation:
        """The situation of ``state``.

        Parameters
        ----------
        state : tvm_llm_sched.steps.State
            The state to propose for.
        latency_us : float | None
            The state's measured latency, if measured.
        history : History | None
            Best latency, recent outcomes and rejections (the search's history).
        """
        from ..steps import legal_steps

        menu = (
            tuple(legal_steps(state, self.target, limit=self.menu_limit)) if self.menu_limit else ()
        )
        return Situation(
            workload=self.workload,
            ir=state.ir,
            hardware=self.hardware,
            menu=menu,
            facts=state_facts(state, self.cpu),
            state_steps=state.steps,
            state_latency_us=latency_us,
            best_latency_us=getattr(history, "best_latency_us", None),
            recent=tuple(getattr(history, "recent", ())),
            rejections=tuple(getattr(history, "rejections", ())),
        )


def build_situation(
    state: Any,
    *,
    workload: str,
    target: Any = None,
    menu_limit: int = 0,
    latency_us: float | None = None,
    history: Any = None,
) -> Situation:
    """One situation without keeping a builder: ``SituationBuilder(...).build(state, ...)``."""
    builder = SituationBuilder(workload=workload, target=target, menu_limit=menu_limit)
    return builder.build(state, latency_us=latency_us, history=history)
