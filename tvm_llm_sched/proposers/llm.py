"""A proposer backed by a chat model: prompt, call, parse, validate, one repair turn.

Failures are data: a bad reply becomes rejections, an endpoint that fails after the client's
retries (or a used-up budget) becomes :attr:`Proposal.error`. Nothing raises out of
:meth:`LLMProposer.propose`, so a tuning run survives any model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ProposerError, ReplyParseError, StepError
from ..llm import ChatBackend, ChatReply
from ..llm.config import parse_flag
from ..steps.step import Step
from .base import Proposal, Proposer, RankedStep, Rejection, Situation, Validator
from .prompts import PROMPT_PROFILES, build_messages, repair_message
from .reply import ParsedReply, parse_reply, reply_rejection
from .schema import reply_schema, schema_response_format

if TYPE_CHECKING:
    from ..serving.local_model import ServerLease

logger = logging.getLogger("tvm_llm_sched.proposers")


_ENV_FIELDS = {
    "max_tokens": int,
    "temperature": float,
    "profile": str,
    "constrained": parse_flag,
    "mutator_advice": parse_flag,
}
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
    profile : str
        The prompt profile (:data:`~tvm_llm_sched.proposers.prompts.PROMPT_PROFILES`): ``full``,
        or ``compact`` for small models.
    mutator_advice : bool
        Ask the model for MetaSchedule mutator weights when the search re-weighs its mutators
        (:meth:`LLMProposer.mutator_weights`); off: the search's success-rate rule decides.
    constrained : bool
        Decode under a JSON schema that admits only the situation's menu steps
        (:mod:`~tvm_llm_sched.proposers.schema`; OpenAI structured outputs). An endpoint that
        refuses it is asked without it from then on (logged once), with a JSON reply format.

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
    profile: str = "full"
    constrained: bool = False
    mutator_advice: bool = False

    def __post_init__(self) -> None:
        if self.profile not in PROMPT_PROFILES:
            raise ValueError(
                f"LLMProposerConfig.profile must be one of {sorted(PROMPT_PROFILES)}, "
                f"got {self.profile!r}"
            )

        for name, low in (("max_tokens", 1), ("repair_turns", 0), ("k", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"LLMProposerConfig.{name} must be an int >= {low}, got {value!r}")
        temperature = self.temperature
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise TypeError(f"LLMProposerConfig.temperature must be a number, got {temperature!r}")
        if not 0.0 <= temperature < float("inf"):
            raise ValueError(f"LLMProposerConfig.temperature must be >= 0, got {temperature!r}")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **defaults: Any
    ) -> LLMProposerConfig:
        """``defaults`` overridden by ``TVM_LLM_SCHED_MAX_TOKENS``, ``_TEMPERATURE``, ``_PROFILE``,
        ``_CONSTRAINED`` and ``_MUTATOR_ADVICE`` (0/1) where they are set.

        Parameters
        ----------
        environ : Mapping[str, str] | None
            The variables to read; ``os.environ`` by default.
        **defaults
            Field values used where no variable is set.

        Raises
        ------
        ProposerError
            A variable that does not parse or is out of range.
        """
        env = os.environ if environ is None else environ
        values = dict(defaults)
        for name, convert in _ENV_FIELDS.items():
            text = env.get(f"TVM_LLM_SCHED_{name.upper()}", "").strip()
            if not text:
                continue
            try:
                values[name] = convert(text)
            except ValueError as exc:
                raise ProposerError(f"TVM_LLM_SCHED_{name.upper()}={text!r}: {exc}") from None
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ProposerError(f"invalid proposer settings in the environment: {exc}") from None


@dataclasses.dataclass
class ModelCallStats:
    """What a model proposer's calls gave, summed over a run (:attr:`LLMProposer.stats`).

    Attributes
    ----------
    calls : int
        Model calls (repair turns included), answered or not.
    failed_calls : int
        Calls that got no reply (endpoint down after retries, budget used up).
    formatted_calls : int
        Calls decoded under a reply schema (``response_format`` reached the server).
    prompt_tokens, completion_tokens : int
        Tokens the server reported.
    seconds : float
        Wall time of every call, failed ones and mutator-weight calls included.
    parsed : int
        Replies that held an answer in a known shape.
    steps_named : int
        Distinct steps the parsed replies named (unparsable entries included).
    duplicates : int
        Repeats of a step within one reply (not counted in ``steps_named``).
    steps_applied : int
        Of the named steps, those that parsed and applied to the state (the first ``k``).
    top_picks : int
        Parsed replies that named at least one step (each has a top pick).
    first_menu_picks : int
        Top picks that were the menu's first entry (a model that only copies the first line).
    mutator_calls, mutator_answers : int
        Calls asking for mutator weights, and answers that gave usable weights.
    """

    calls: int = 0
    failed_calls: int = 0
    formatted_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    parsed: int = 0
    steps_named: int = 0
    duplicates: int = 0
    steps_applied: int = 0
    top_picks: int = 0
    first_menu_picks: int = 0
    mutator_calls: int = 0
    mutator_answers: int = 0

    def to_json(self) -> dict[str, Any]:
        """The counts and the rates derived from them (``None`` where undefined); read it
        through :meth:`LLMProposer.stats_json` while calls may be running."""

        def rate(part: float, whole: float) -> float | None:
            return round(part / whole, 4) if whole else None

        answered = self.calls - self.failed_calls
        return {
            **dataclasses.asdict(self),
            "seconds": round(self.seconds, 3),
            "parse_rate": rate(self.parsed, answered),
            "apply_rate": rate(self.steps_applied, self.steps_named),
            "first_menu_share": rate(self.first_menu_picks, self.top_picks),
            "prompt_tokens_per_call": rate(self.prompt_tokens, answered),
            "completion_tokens_per_call": rate(self.completion_tokens, answered),
            "seconds_per_call": rate(self.seconds, self.calls + self.mutator_calls),
        }


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
        Token cap, temperature, repair turns, JSON mode, the default ``k``, the prompt profile
        and constrained decoding.
    local : bool | None
        Whether the model computes on this machine (then the search never asks it while it
        measures); ``None``: whether the endpoint's host is a loopback address.
    lease : ServerLease | None
        A share of a :mod:`~tvm_llm_sched.serving.local_model` server, released by :meth:`close`.

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

    def __init__(
        self,
        backend: ChatBackend,
        *,
        config: LLMProposerConfig | None = None,
        local: bool | None = None,
        lease: ServerLease | None = None,
    ):
        if not isinstance(backend, ChatBackend):
            raise TypeError(f"backend must be a ChatBackend, got {type(backend).__name__}")
        self.backend = backend
        self.config = config or LLMProposerConfig()
        self.profile = PROMPT_PROFILES[self.config.profile]
        # A model on this machine computes on the CPU that times candidates: the search must not
        # query it while measuring. Default: the endpoint is on a loopback address.
        self.local = _on_loopback(backend) if local is None else bool(local)
        self.stats = ModelCallStats()
        self._stats_lock = threading.Lock()
        self._lease = lease  # a share of the local model server this proposer talks to

    def __repr__(self) -> str:
        return (
            f"LLMProposer(model={self.backend.model!r}, config={self.config!r}, local={self.local})"
        )

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
        cfg = self.config
        try:
            schema = reply_schema(situation, k=k) if cfg.constrained else None
            messages = build_messages(
                situation, k=k, json_mode=cfg.json_mode or cfg.constrained, profile=self.profile
            )
        except (TypeError, ValueError) as exc:  # a bad k or a situation that is not JSON data
            return self._give_up(f"cannot build the prompt: {exc}", [], 0)
        if schema is not None:
            response_format = schema_response_format(schema)
        elif cfg.json_mode or cfg.constrained or self.profile.json_mode:
            response_format = _JSON_MODE
        else:
            response_format = None
        rejections: list[Rejection] = []
        tokens = 0
        for turn in range(self.config.repair_turns + 1):
            try:
                outcome = self._ask(messages, k, validate, response_format, situation)
            except ProposerError as exc:
                self._count(failed=True)
                return self._give_up(str(exc), rejections, tokens)
            except Exception as exc:  # a third-party backend's bug must not stop tuning
                self._count(failed=True)
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

    def _ask(
        self,
        messages: list[dict[str, Any]],
        k: int,
        validate: Validator | None,
        response_format: dict[str, Any] | None,
        situation: Situation,
    ) -> _Turn:
        """One model call: the reply parsed and each step validated; raises ProposerError."""
        with self._timed():
            reply = self.backend.complete(
                messages,
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
                response_format=response_format,
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
        # the steps looked at (applied, refused, unparsable); a repeat of a step is not an
        # illegal step: counted apart, not in the apply rate
        named = len(steps) + len(rejections) - parsed.duplicates if unparsable is None else 0
        if not parsed.steps and not rejections:
            rejections.append(reply_rejection("the answer lists no steps"))
        for rejection in rejections:
            logger.info("rejected %s: %s", rejection.step, rejection.reason)
        top = parsed.steps[0].step.to_text() if parsed.steps else None
        self._count(
            reply=reply,
            parsed=unparsable is None,
            named=named,
            duplicates=parsed.duplicates,
            applied=len(steps),
            top=top,
            first_menu=situation.menu[0].to_text() if situation.menu else None,
        )
        return _Turn(steps, rejections, parsed.reasoning, reply, unparsable)

    def _count(
        self,
        *,
        failed: bool = False,
        reply: ChatReply | None = None,
        parsed: bool = False,
        named: int = 0,
        duplicates: int = 0,
        applied: int = 0,
        top: str | None = None,
        first_menu: str | None = None,
    ) -> None:
        """Add one call to :attr:`stats` (calls run on several threads)."""
        with self._stats_lock:
            stats = self.stats
            stats.calls += 1
            stats.failed_calls += failed
            if reply is not None:
                stats.formatted_calls += reply.formatted
                stats.prompt_tokens += reply.usage.prompt_tokens
                stats.completion_tokens += reply.usage.completion_tokens
            stats.parsed += parsed
            stats.steps_named += named
            stats.duplicates += duplicates
            stats.steps_applied += applied
            if top is not None:
                stats.top_picks += 1
                stats.first_menu_picks += top == first_menu

    def _give_up(self, reason: str, rejections: list[Rejection], tokens: int) -> Proposal:
        """A proposal with ``error`` set. Logged at INFO: the failure travels as data, and the
        caller (the search's :class:`~tvm_llm_sched.search.chain.StepChains`) warns once."""
        logger.info("model %s could not propose: %s", self.backend.model, reason)
        return Proposal(rejections=tuple(rejections), usage_tokens=tokens, error=reason)

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        """Add the wall time of the block to :attr:`stats` (a failed call costs time too)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._stats_lock:
                self.stats.seconds += time.perf_counter() - start

    def stats_json(self) -> dict[str, Any]:
        """:attr:`stats` as JSON, read consistently while other threads call the model."""
        with self._stats_lock:
            return self.stats.to_json()

    def mutator_weights(
        self, defaults: dict[str, float], stats: dict[str, Any]
    ) -> dict[str, float] | None:
        """The model's mutator weights from each mutator's tries and improvements.

        Parameters
        ----------
        defaults : dict[str, float]
            Mutator names and the target's default probabilities.
        stats : dict[str, MutatorStats]
            Per mutator: children measured (``tries``) and faster than their parent
            (``improvements``).

        Returns
        -------
        dict[str, float] | None
            A weight per mutator (the caller validates and normalizes them); ``None`` (the
            search's success-rate rule decides) when ``config.mutator_advice`` is off or the
            answer is unusable. The reply is constrained to a weights object when the endpoint
            takes a schema.
        """
        if not self.config.mutator_advice or not defaults:
            return None
        names = sorted(defaults)
        lines = [
            f"- {name}: default {defaults[name]:.2f}, children measured "
            f"{getattr(stats.get(name), 'tries', 0)}, faster than their parent "
            f"{getattr(stats.get(name), 'improvements', 0)}"
            for name in names
        ]
        messages = [
            {"role": "system", "content": MUTATOR_TASK},
            {"role": "user", "content": "\n".join(["Mutators:", *lines])},
        ]
        number = {"type": "number", "minimum": 0, "maximum": 1}
        schema = {
            "type": "object",
            "properties": {name: number for name in names},
            "required": names,
            "additionalProperties": False,
        }
        with self._stats_lock:
            self.stats.mutator_calls += 1
        try:
            with self._timed():
                reply = self.backend.complete(
                    messages,
                    max_tokens=32 + 16 * len(names),
                    temperature=self.config.temperature,
                    response_format=schema_response_format(schema),
                )
            weights = json.loads(reply.text.strip())
        except Exception as exc:  # any failure: the search's own rule decides
            logger.info("no mutator weights from %s: %s", self.backend.model, exc)
            return None
        if not isinstance(weights, dict) or set(weights) != set(names):
            logger.info("unusable mutator weights from %s: %r", self.backend.model, reply.text)
            return None
        with self._stats_lock:
            self.stats.mutator_answers += 1
        return {name: weights[name] for name in names}  # the caller validates the numbers

    def close(self) -> None:
        """Close the backend, and give back the share of a local model server it used."""
        lease, self._lease = self._lease, None
        try:
            self.backend.close()
        finally:
            if lease is not None:
                lease.release()


MUTATOR_TASK = """\
You weigh the mutators of a tensor-program auto-tuner (MetaSchedule): each mutator changes one \
sampled decision of a measured program. Give every mutator a weight between 0 and 1, more to \
those whose children were more often faster than their parent, never 0 to one that was seldom \
tried. Reply with one JSON object mapping each mutator name to its weight."""


def _on_loopback(backend: ChatBackend) -> bool:
    """Whether ``backend`` (or the client a recording backend wraps) calls an endpoint on this
    machine; a replay or custom backend computes nothing here."""
    while backend is not None:
        base_url = getattr(getattr(backend, "config", None), "base_url", None)
        if isinstance(base_url, str):
            return is_loopback_url(base_url)
        backend = getattr(backend, "inner", None)
    return False


def is_loopback_url(base_url: str) -> bool:
    """Whether ``base_url``'s host is this machine (``localhost`` or a loopback address).

    Examples
    --------
    >>> is_loopback_url("http://127.0.0.1:8080/v1"), is_loopback_url("https://api.example.com/v1")
    (True, False)
    """
    import ipaddress
    import urllib.parse

    host = urllib.parse.urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
