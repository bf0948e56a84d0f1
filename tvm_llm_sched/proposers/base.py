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

Legality is checked by the caller's ``validate`` callback (the search owns the live schedule
state): it takes a step's text and returns ``None`` if the step applies, else the reason.

Writing a proposer::

    class MyProposer(Proposer):
        name = "mine"

        def propose(self, situation, *, k=4, validate=None):
            steps = [RankedStep(step=text, rationale="...") for text in situation.menu[:k]]
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

Validator = Callable[[str], "str | None"]
"""Checks one step (text form) against the live state: ``None`` if legal, else the reason."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """A measured (or failed) result of applying steps to a state.

    Attributes
    ----------
    steps : tuple[str, ...]
        The steps (text form) that led from the situation's state to the measured state.
    latency_us : float | None
        Measured mean latency in microseconds; ``None`` if building or running failed.
    error : str | None
        The build or run error message, if it failed.
    """

    steps: tuple[str, ...]
    latency_us: float | None
    error: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rejection:
    """A proposed step that was not applied, with the reason a model can read."""

    step: str
    reason: str


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
    menu : tuple[str, ...]
        Legal steps with suggested parameters (text form), bounded in size.
    facts : dict
        Structured facts (JSON-compatible) the embedded policy reads: loops, blocks, decisions,
        cpu numbers. See :func:`tvm_llm_sched.proposers.facts.build_situation`.
    state_steps : tuple[str, ...]
        Steps applied to reach this state from its design-space sample (text form).
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
    menu: tuple[str, ...] = ()
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)
    state_steps: tuple[str, ...] = ()
    state_latency_us: float | None = None
    best_latency_us: float | None = None
    recent: tuple[Outcome, ...] = ()
    rejections: tuple[Rejection, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (inverse of :meth:`from_json`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Situation:
        """Rebuild a situation from :meth:`to_json` output.

        Raises
        ------
        ValueError
            If ``data`` is not a situation.
        """
        if not isinstance(data, dict):
            raise ValueError("a situation must be a JSON object")
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown or not {"workload", "ir", "hardware"} <= set(data):
            raise ValueError(f"not a situation: unknown {sorted(unknown)} or missing required keys")
        values = dict(data)
        values["menu"] = tuple(values.get("menu", ()))
        values["state_steps"] = tuple(values.get("state_steps", ()))
        values["recent"] = tuple(
            Outcome(**{**o, "steps": tuple(o["steps"])}) for o in values.get("recent", ())
        )
        values["rejections"] = tuple(Rejection(**r) for r in values.get("rejections", ()))
        return cls(**values)

    def dumps(self) -> str:
        """Compact, deterministic JSON text."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RankedStep:
    """One proposed atomic step (text form, e.g. ``set_tile(d1, [4, 4, 1, 32])``) and why."""

    step: str
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
