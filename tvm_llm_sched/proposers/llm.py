"""A proposer backed by a chat model: prompt, call, parse, validate, one repair turn.

Failures are data: a bad reply becomes rejections, an endpoint that fails after the client's
retries (or a used-up budget) becomes :attr:`Proposal.error`. Nothing raises out of
:meth:`LLMProposer.propose`, so a tuning run survives any model.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from ..errors import ProposerError, ReplyParseError, StepError
from ..llm import ChatBackend, ChatReply
from ..steps.step import Step
from .base import Proposal, Proposer, RankedStep, Rejection, Situation, Validator
from .prompts import build_messages, repair_message
from .reply import ParsedReply, parse_reply, reply_rejection

logger = logging.getLogger("tvm_llm_sched.proposers")

_ECHO_CHARS = 4000  # a repair turn echoes at most this much of the model's bad reply
_JSON_MODE = {"type": "json_object"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class LLMProposerConfig:
    """How an :class:`LLMProposer` asks its model.

    Parameters
    ----------
    max_tokens : int
        Completion token cap per call (reasoning included).
    temperature : float
        Sampling temperature (0 = greedy, reproducible with a deterministic server).
    repair_turns : int
        Extra turns given to the model when nothing in its reply is usable; each lists every
        rejection reason. 0 disables repair.
    json_mode : bool
        Ask for ``response_format={"type": "json_object"}`` and a bare JSON reply.
    k : int
        Steps asked for when :meth:`LLMProposer.propose` is called without ``k``.

    Examples
    --------
    >>> LLMProposerConfig(max_tokens=512).repair_turns
    1
    """

    max_tokens: int = 1024
    temperature: float = 0.0
    repair_turns: int = 1
    json_mode: bool = False
    k: int = 4

    def __post_init__(self) -> None:
        for name, low in (("max_tokens", 1), ("repair_turns", 0), ("k", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"LLMProposerConfig.{name} must be an int >= {low}, got {value!r}")
        temperature = self.temperature
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise TypeError(f"LLMProposerConfig.temperature must be a number, got {temperature!r}")
        if not 0.0 <= temperature < float("inf"):
            raise ValueError(f"LLMProposerConfig.temperature must be >= 0, got {temperature!r}")


@dataclasses.dataclass
class _Turn:
    """What one model call gave: usable steps, rejections, reasoning and the reply itself."""

    steps: list[RankedStep]
    rejections: list[Rejection]
    reasoning: str
    reply: ChatReply
    unparsable: str | None = None  # why the whole reply was unusable, if it was


class LLMProposer(Proposer):
    """Ask a chat model for the next steps of a situation.

    Parameters
    ----------
    backend : ChatBackend
        Answers the chat messages: a :class:`~tvm_llm_sched.llm.ChatClient` (retries, budget),
        a recording or a replay backend. Closed by :meth:`close`.
    config : LLMProposerConfig | None
        Token cap, temperature, repair turns, JSON mode and the default ``k``.

    Examples
    --------
    >>> from tvm_llm_sched.llm import ChatClient, EndpointConfig
    >>> from tvm_llm_sched.serving import OpenAICompatServer
    >>> reply = '<think>cores</think><answer>{"steps": [{"step": "parallel(l1)"}]}</answer>'
    >>> situation = Situation(workload="GMM:0", ir="l0:1 l1:128", hardware="cpu")
    >>> with OpenAICompatServer(lambda messages, request: reply) as server:
    ...     backend = ChatClient(EndpointConfig(base_url=server.base_url, model="m"))
    ...     with LLMProposer(backend) as proposer:
    ...         proposal = proposer.propose(situation, k=2)
    >>> [s.step.to_text() for s in proposal.steps], proposal.reasoning
    (['parallel(l1)'], 'cores')
    """

    name = "llm"

    def __init__(self, backend: ChatBackend, *, config: LLMProposerConfig | None = None):
        if not isinstance(backend, ChatBackend):
            raise TypeError(f"backend must be a ChatBackend, got {type(backend).__name__}")
        self.backend = backend
        self.config = config or LLMProposerConfig()

    def __repr__(self) -> str:
        return f"LLMProposer(model={self.backend.model!r}, config={self.config!r})"

    def propose(
        self, situation: Situation, *, k: int | None = None, validate: Validator | None = None
    ) -> Proposal:
        """Up to ``k`` validated steps from the model, best first; never raises.

        Parameters
        ----------
        situation : Situation
            What to propose for.
        k : int | None
            The most steps to return (``config.k`` when ``None``).
        validate : Callable[[Step], Rejection | None] | None
            Checks a step against the live state: ``None`` if it applies, else its rejection.

        Returns
        -------
        Proposal
            Valid steps (the model's order), every rejection with its reason, the ``<think>``
            text, the tokens spent; ``error`` set when the model could not be asked or never
            gave a parsable reply.
        """
        k = self.config.k if k is None else k
        try:
            messages = build_messages(situation, k=k, json_mode=self.config.json_mode)
        except (TypeError, ValueError) as exc:  # a bad k or a situation that is not JSON data
            return self._give_up(f"cannot build the prompt: {exc}", [], 0)
        rejections: list[Rejection] = []
        tokens = 0
        for turn in range(self.config.repair_turns + 1):
            try:
                outcome = self._ask(messages, k, validate)
            except ProposerError as exc:
                return self._give_up(str(exc), rejections, tokens)
            except Exception as exc:  # a third-party backend's bug must not stop tuning
                logger.exception("chat backend %r failed unexpectedly", self.backend)
                return self._give_up(f"{type(exc).__name__}: {exc}", rejections, tokens)
            tokens += outcome.reply.usage.total_tokens
            rejections += outcome.rejections
            if outcome.steps:
                return Proposal(
                    steps=tuple(outcome.steps[:k]),
                    rejections=tuple(rejections),
                    reasoning=outcome.reasoning,
                    usage_tokens=tokens,
                )
            if turn < self.config.repair_turns:
                logger.info("nothing usable in the reply; asking %s again", self.backend.model)
                echoed = outcome.reply.text[:_ECHO_CHARS]
                messages = [
                    *messages,
                    {"role": "assistant", "content": echoed},
                    {"role": "user", "content": repair_message(outcome.rejections, k=k)},
                ]
        if outcome.unparsable is not None:  # even the last reply held no answer at all
            return self._give_up(outcome.unparsable, rejections, tokens)
        return Proposal(rejections=tuple(rejections), usage_tokens=tokens)

    def _ask(self, messages: list[dict[str, Any]], k: int, validate: Validator | None) -> _Turn:
        """One model call: the reply parsed and each step validated; raises ProposerError."""
        reply = self.backend.complete(
            messages,
            max_tokens=self.config.max_tokens,
            temperature=self.config.temperature,
            response_format=_JSON_MODE if self.config.json_mode else None,
        )
        unparsable = None
        try:
            parsed = parse_reply(reply.text, finish_reason=reply.finish_reason)
        except ReplyParseError as exc:
            unparsable = str(exc)
            parsed = ParsedReply((), (reply_rejection(unparsable),), "")
        steps: list[RankedStep] = []
        rejections = list(parsed.rejections)
        for step in parsed.steps:
            if len(steps) >= k:
                break
            rejection = _check(validate, step.step)
            if rejection is None:
                steps.append(step)
            else:
                rejections.append(rejection)
        if not parsed.steps and not rejections:
            rejections.append(reply_rejection("the answer lists no steps"))
        for rejection in rejections:
            logger.info("rejected %s: %s", rejection.step, rejection.reason)
        return _Turn(steps, rejections, parsed.reasoning, reply, unparsable)

    def _give_up(self, reason: str, rejections: list[Rejection], tokens: int) -> Proposal:
        """A proposal with ``error`` set. Logged at INFO: the failure travels as data, and the
        caller (the search's :class:`~tvm_llm_sched.search.chain.StepChains`) warns once."""
        logger.info("model %s could not propose: %s", self.backend.model, reason)
        return Proposal(rejections=tuple(rejections), usage_tokens=tokens, error=reason)

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()


def _check(validate: Validator | None, step: Step) -> Rejection | None:
    """The validator's verdict on ``step``; a raising validator rejects with its message."""
    if validate is None:
        return None
    try:
        return validate(step)
    except StepError as exc:
        return Rejection(step=step.to_text(), reason=str(exc))
    except Exception as exc:  # a broken validator rejects the step instead of stopping tuning
        logger.warning("validator failed on %s", step, exc_info=True)
        return Rejection(
            step=step.to_text(), reason=f"validator failed: {type(exc).__name__}: {exc}"
        )
