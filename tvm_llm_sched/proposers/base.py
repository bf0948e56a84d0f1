"""The proposer interface: a tuning situation in, ranked atomic steps out.

A :class:`Situation` is everything a proposer may look at: the state in step-level IR, the hardware
line, the menu of legal steps, structured facts about the state's loops and sampled decisions, and
the measured history (best latency so far, the parent's and recent steps' results, recent
rejections with their reasons). It is plain data and round-trips through JSON, so the same
situation can be put in a prompt, sent to ``tvm-llm-sched serve-policy`` over HTTP, or recorded.

A :class:`Proposer` answers with a :class:`Proposal`: ranked :class:`RankedStep` objects (each an
atomic step in the step language with a short rationale) plus the replies it had to reject and why.
Proposers never raise out of :meth:`Proposer.propose`: a bad model reply gives an empty or partial
proposal whose ``rejections`` say what went wrong, and a failure that leaves nothing to propose
(endpoint down after retries, budget used up) sets :attr:`Proposal.error`, so the search falls back.

Steps travel as :class:`~tvm_llm_sched.steps.Step` objects (their text form only in JSON and
prompts). Legality is checked by the caller's ``validate`` callback (the search owns the live
schedule state): it takes a step and returns ``None`` if the step applies, else a
:class:`Rejection` whose structured fields (e.g. the valid compute locations) a proposer can use.

Writing a proposer::

    class MyProposer(Proposer):
        name = "mine"

        def propose(self, situation, *, k=4, validate=None):
            steps = [RankedStep(step=step, rationale="...") for step in situation.menu[:k]]
            return Proposal(steps=tuple(steps))
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import StepError
from ..steps.parser import parse_step
from ..steps.step import Step
from .facts import Facts

Validator = Callable[["Step"], "Rejection | None"]
"""Checks one step against the live state: ``None`` if it applies, else a :class:`Rejection`."""


def _step_texts(steps: Sequence[Step]) -> list[str]:
    return [step.to_text() for step in steps]


def _parsed(texts: Any, what: str) -> tuple[Step, ...]:
    if not isinstance(texts, (list, tuple)):
        raise ValueError(f"{what} must be a list of steps")
    return tuple(parse_step(text) for text in texts)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """A measured (or failed) result of applying steps to a state.

    Attributes
    ----------
    steps : tuple[Step, ...]
        The steps that led from the situation's state to the measured state.
    latency_us : float | None
        Measured mean latency in microseconds; ``None`` if building or running failed.
    error : str | None
        The build or run error message, if it failed.
    """

    steps: tuple[Step, ...]
    latency_us: float | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form (steps in text form)."""
        return {
            "steps": _step_texts(self.steps),
            "latency_us": self.latency_us,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        """Inverse of :meth:`to_json`."""
        return cls(
            steps=_parsed(data["steps"], "outcome steps"),
            latency_us=data.get("latency_us"),
            error=data.get("error"),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rejection:
    """A proposed step (or whole reply) that was not applied, with the reason a model can read.

    Attributes
    ----------
    step : str
        What was proposed, as text (it may not even parse), or ``"<reply>"`` for a whole reply.
    reason : str
        Why it was refused.
    decision : str | None
        The decision a refused decision edit named (``"d5"``), if any.
    valid_values : tuple[int, ...]
        Values that decision may take instead, when the step language knows them (the valid
        compute locations of a ``set_compute_location``); empty otherwise.
    """

    step: str
    reason: str
    decision: str | None = None
    valid_values: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form; the structured fields only when set."""
        out: dict[str, Any] = {"step": self.step, "reason": self.reason}
        if self.decision is not None:
            out["decision"] = self.decision
        if self.valid_values:
            out["valid_values"] = list(self.valid_values)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rejection:
        """Inverse of :meth:`to_json`."""
        return cls(
            step=data["step"],
            reason=data["reason"],
            decision=data.get("decision"),
            valid_values=tuple(data.get("valid_values", ())),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Situation:
    """What a proposer sees when asked for the next step.

    Attributes
    ----------
    workload : str
        Workload name (``"GMM:1"``).
    ir : str
        The current state in step-level IR (``tvm_llm_sched.ir.render``).
    hardware : str
        One-line hardware summary.
    menu : tuple[Step, ...]
        Legal steps with suggested parameters, bounded in size.
    facts : Facts
        Typed facts the embedded policy reads: sampled decisions, serial reductions, strided
        reads, CPU numbers (:mod:`tvm_llm_sched.proposers.facts`).
    state_steps : tuple[Step, ...]
        Steps applied to reach this state from its design-space sample.
    state_latency_us : float | None
        Measured latency of this state, if it was measured.
    best_latency_us : float | None
        Best latency measured so far for the workload.
    recent : tuple[Outcome, ...]
        Recent measured children of this state or its ancestors, newest last.
    rejections : tuple[Rejection, ...]
        Recent rejected steps with reasons, newest last.
    """

    workload: str
    ir: str
    hardware: str
    menu: tuple[Step, ...] = ()
    facts: Facts = dataclasses.field(default_factory=Facts)
    state_steps: tuple[Step, ...] = ()
    state_latency_us: float | None = None
    best_latency_us: float | None = None
    recent: tuple[Outcome, ...] = ()
    rejections: tuple[Rejection, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (inverse of :meth:`from_json`); steps in text form."""
        return {
            "workload": self.workload,
            "ir": self.ir,
            "hardware": self.hardware,
            "menu": _step_texts(self.menu),
            "facts": self.facts.to_json(),
            "state_steps": _step_texts(self.state_steps),
            "state_latency_us": self.state_latency_us,
            "best_latency_us": self.best_latency_us,
            "recent": [outcome.to_json() for outcome in self.recent],
            "rejections": [rejection.to_json() for rejection in self.rejections],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Situation:
        """Rebuild a situation from :meth:`to_json` output.

        Raises
        ------
        ValueError
            If ``data`` is not a situation (including a step that does not parse).
        """
        if not isinstance(data, dict):
            raise ValueError("a situation must be a JSON object")
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown or not {"workload", "ir", "hardware"} <= set(data):
            raise ValueError(f"not a situation: unknown {sorted(unknown)} or missing required keys")
        try:
            return cls(
                workload=data["workload"],
                ir=data["ir"],
                hardware=data["hardware"],
                menu=_parsed(data.get("menu", ()), "menu"),
                facts=Facts.from_json(data.get("facts", {})),
                state_steps=_parsed(data.get("state_steps", ()), "state_steps"),
                state_latency_us=data.get("state_latency_us"),
                best_latency_us=data.get("best_latency_us"),
                recent=tuple(Outcome.from_json(o) for o in data.get("recent", ())),
                rejections=tuple(Rejection.from_json(r) for r in data.get("rejections", ())),
            )
        except StepError as exc:
            raise ValueError(f"not a situation: {exc}") from None

    def dumps(self) -> str:
        """Compact, deterministic JSON text."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RankedStep:
    """One proposed atomic step (e.g. ``set_tile(d1, [4, 4, 1, 32])``) and why."""

    step: Step
    rationale: str = ""
    score: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Proposal:
    """A proposer's answer: best step first.

    Attributes
    ----------
    steps : tuple[RankedStep, ...]
        Proposed steps, best first. May be empty when every reply was rejected.
    rejections : tuple[Rejection, ...]
        Proposed steps (or whole replies) rejected while answering, with reasons.
    reasoning : str
        The ``<think>`` part of the reply, if any.
    usage_tokens : int
        Tokens this proposal cost (0 for the embedded policy).
    error : str | None
        Set when the proposer could not answer at all (endpoint failed after retries, budget
        exhausted); the search then falls back to its own moves.
    """

    steps: tuple[RankedStep, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    reasoning: str = ""
    usage_tokens: int = 0
    error: str | None = None


class Proposer(abc.ABC):
    """Extension point: turn a :class:`Situation` into a :class:`Proposal`.

    Subclasses implement :meth:`propose`. :meth:`propose_many` asks for several situations at once
    (threads by default, so model latency overlaps) and :meth:`close` releases resources.
    """

    #: Short name used in logs and by :func:`tvm_llm_sched.proposers.create`.
    name: str = "proposer"
    #: Whether situations for this proposer must carry the legal-step menu (costly to build).
    needs_menu: bool = True
    #: Whether the proposer computes on this machine's CPU. Remote proposers (model endpoints)
    #: are queried while candidates are measured; local ones are not, so they cannot disturb the
    #: timings.
    local: bool = False
    #: Whether the proposer answers in milliseconds without a model (the embedded policies): the
    #: search gives it its full call budget. Others get a model's lean one (a ``local`` one,
    #: never overlapped with measurement, the leanest): set both on a fast local proposer.
    instant: bool = False

    @abc.abstractmethod
    def propose(
        self, situation: Situation, *, k: int = 4, validate: Validator | None = None
    ) -> Proposal:
        """Return up to ``k`` ranked, validated steps for ``situation``; never raises."""

    async def apropose(
        self, situation: Situation, *, k: int = 4, validate: Validator | None = None
    ) -> Proposal:
        """:meth:`propose` for asyncio callers; runs the one sync implementation in a thread."""
        return await asyncio.to_thread(self.propose, situation, k=k, validate=validate)

    def propose_many(
        self,
        situations: Sequence[Situation],
        *,
        k: int = 4,
        validators: Sequence[Validator | None] | None = None,
    ) -> list[Proposal]:
        """Proposals for several situations, in order; runs :meth:`propose` concurrently."""
        checks = list(validators) if validators is not None else [None] * len(situations)
        if len(situations) <= 1:
            return [
                self.propose(s, k=k, validate=v) for s, v in zip(situations, checks, strict=True)
            ]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(situations))) as pool:
            return list(
                pool.map(
                    lambda sv: self.propose(sv[0], k=k, validate=sv[1]),
                    zip(situations, checks, strict=True),
                )
            )

    def mutator_weights(
        self, defaults: dict[str, float], stats: dict[str, Any]
    ) -> dict[str, float] | None:
        """Optional hook: new MetaSchedule mutator weights from per-mutator statistics.

        ``stats`` maps mutator names to objects with ``tries`` and ``improvements``. Return
        ``None`` (the default) to let :class:`~tvm_llm_sched.search.LLMMutatorProbability` use
        its success-rate rule.
        """
        return None

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release resources (HTTP clients, files)."""

    def __enter__(self) -> Proposer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
