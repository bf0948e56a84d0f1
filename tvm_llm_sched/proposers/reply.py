"""Parse a model reply into ranked steps: strict about content, tolerant about wrapping.

Accepted wrappings, tried in order:

1. ``<think>...</think><answer>JSON</answer>`` (the format the system prompt asks for); the JSON
   may sit in a fenced ```json block inside the tags;
2. a fenced ```json (or bare ```) block holding a JSON object, when the model ignored the tags;
3. a bare JSON object anywhere in the text (JSON-mode replies are exactly this).

Accepted answers: ``{"steps": [...]}`` (entries are ``{"step": "...", "rationale": "..."}``, a
step string, or a step's JSON form), the Step-TP single-step form ``{"step": "...", "rationale":
"..."}`` or ``{"applied_strategy": "...", "step": "..."}``, and a bare list of entries. A
``"think"`` or ``"reasoning"`` key of a JSON-mode object is taken as the reasoning.

A reply that holds no usable answer at all raises :class:`~tvm_llm_sched.errors.ReplyParseError`
with the reason (empty, truncated, no answer, invalid JSON, steps not a list, too long). A bad
entry only rejects that entry: unparsable steps and duplicates become
:class:`~tvm_llm_sched.proposers.base.Rejection` objects next to the parsed steps.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from ..errors import ReplyParseError, StepError, StepSyntaxError
from ..steps.parser import parse_step
from .base import RankedStep, Rejection

MAX_REPLY_CHARS = 200_000
"""Longer replies are rejected unread: a proposal is a few hundred characters."""

_MAX_CANDIDATES = 64  # bare-JSON search: at most this many '{' positions are tried
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_FENCED = re.compile(r"```[A-Za-z]*[ \t]*\n(.*?)```", re.DOTALL)
_STEP_KEYS = ("steps", "step", "kind")
_WHOLE_REPLY = "<reply>"
"""The ``step`` of a rejection that concerns the whole reply rather than one step."""


@dataclasses.dataclass(frozen=True)
class ParsedReply:
    """The steps of one reply (in the model's order), what was rejected, and the reasoning;
    ``duplicates`` of the rejections are repeats of an earlier step of the reply."""

    steps: tuple[RankedStep, ...]
    rejections: tuple[Rejection, ...]
    reasoning: str
    duplicates: int = 0


def parse_reply(text: str | None, *, finish_reason: str | None = None) -> ParsedReply:
    """Parse one reply.

    Parameters
    ----------
    text : str | None
        The reply text (``choices[0].message.content``).
    finish_reason : str | None
        The server's finish reason; ``"length"`` means the reply was cut at ``max_tokens``.

    Returns
    -------
    ParsedReply
        Parsed steps (duplicates and unparsable entries moved to ``rejections``).

    Raises
    ------
    ReplyParseError
        The reply is empty, too long, truncated, has no answer, or its answer is not valid JSON
        in one of the accepted shapes.

    Examples
    --------
    >>> reply = '<think>use the cores</think><answer>{"steps": [{"step": "parallel(l1)"}]}</answer>'
    >>> parsed = parse_reply(reply)
    >>> [s.step for s in parsed.steps], parsed.reasoning
    (['parallel(l1)'], 'use the cores')
    """
    if text is None or not text.strip():
        raise ReplyParseError("empty reply")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyParseError(
            f"reply is {len(text)} characters, over the {MAX_REPLY_CHARS}-character limit"
        )
    truncated = finish_reason == "length"
    reasoning, answer = _split(text, truncated=truncated)
    data = _load(answer, truncated=truncated)
    if isinstance(data, dict):
        for key in ("think", "reasoning"):
            if not reasoning and isinstance(data.get(key), str):
                reasoning = data[key].strip()
    steps, rejections, duplicates = _entries(data)
    return ParsedReply(tuple(steps), tuple(rejections), reasoning, duplicates)


def _split(text: str, *, truncated: bool) -> tuple[str, str]:
    """``(reasoning, answer text)``; raises when no answer can be located."""
    think = _THINK.search(text)
    reasoning = think.group(1).strip() if think else ""
    rest = text[think.end() :] if think else text
    if think is None and re.search(r"<think>", text, re.IGNORECASE):
        raise ReplyParseError(_cut("inside <think> (no closing </think>)", truncated))
    answers = _ANSWER.findall(rest)
    if answers:
        return reasoning, answers[-1]
    opening = re.search(r"<answer>", rest, re.IGNORECASE)
    if opening is not None:
        # no closing tag: fine only if the JSON after the tag is complete and nothing was cut
        tail = rest[opening.end() :]
        if not truncated and _complete_json(tail) is not None:
            return reasoning, tail
        raise ReplyParseError(_cut("inside <answer> (no closing </answer>)", truncated))
    fenced = [block for block in _FENCED.findall(rest) if block.lstrip().startswith(("{", "["))]
    if fenced:
        return reasoning, fenced[-1]
    found = _bare_object(rest)
    if found is not None:
        return reasoning, found
    if truncated:
        raise ReplyParseError(_cut("before any answer", True))
    raise ReplyParseError(
        'no <answer> in the reply (expected <think>...</think><answer>{"steps": [...]}</answer>)'
    )


def _cut(where: str, truncated: bool) -> str:
    cause = "at max_tokens (finish_reason=length)" if truncated else "before it finished"
    return f"reply truncated {cause}: it ends {where}"


def _complete_json(text: str) -> Any | None:
    """The JSON value at the start of ``text`` (after whitespace), or ``None``."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        value, end = json.JSONDecoder().raw_decode(stripped)
    except (ValueError, RecursionError):
        return None
    return value if not stripped[end:].strip() else None


def _bare_object(text: str) -> str | None:
    """The first JSON object in free text that looks like an answer (has a step key)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(_MAX_CANDIDATES):
        if start < 0:
            return None
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and any(key in value for key in _STEP_KEYS):
            return text[start:end]
        start = text.find("{", end)
    return None


def _load(answer: str, *, truncated: bool) -> Any:
    body = answer.strip()
    fenced = _FENCED.search(body)
    if fenced is not None and not body.startswith(("{", "[")):
        body = fenced.group(1).strip()
    if not body:
        raise ReplyParseError("the <answer> is empty")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        prefix = "reply truncated at max_tokens (finish_reason=length); " if truncated else ""
        raise ReplyParseError(f"{prefix}the answer is not valid JSON: {str(exc)[:160]}") from None


def _entries(data: Any) -> tuple[list[RankedStep], list[Rejection], int]:
    if isinstance(data, dict) and "steps" in data:
        items = data["steps"]
        if not isinstance(items, list):
            raise ReplyParseError(f'"steps" must be a list of steps, got {type(items).__name__}')
    elif isinstance(data, dict) and ("step" in data or "kind" in data):
        items = [data]  # Step-TP single-step form, or one step's JSON form
    elif isinstance(data, list):
        items = data
    else:
        raise ReplyParseError('the answer has no "steps" list (expected {"steps": [...]})')
    steps: list[RankedStep] = []
    rejections: list[Rejection] = []
    seen: dict[str, int] = {}
    duplicates = 0
    for number, item in enumerate(items, 1):
        try:
            source, rationale = _entry(item)
            step = parse_step(source)
        except StepError as exc:
            rejections.append(Rejection(step=_shown(item), reason=f"step {number}: {exc}"))
            continue
        text = step.to_text()
        if text in seen:
            rejections.append(
                Rejection(step=text, reason=f"step {number} duplicates step {seen[text]}")
            )
            duplicates += 1
            continue
        seen[text] = number
        steps.append(RankedStep(step=step, rationale=rationale))
    return steps, rejections, duplicates


def _entry(item: Any) -> tuple[Any, str]:
    """``(step source for parse_step, rationale)`` of one list entry."""
    if isinstance(item, str):
        return item, ""
    if isinstance(item, dict):
        rationale = item.get("rationale", item.get("reason", ""))
        rationale = rationale.strip() if isinstance(rationale, str) else ""
        if "step" in item:
            return item["step"], rationale
        if "kind" in item:
            return {k: v for k, v in item.items() if k in ("kind", "args")}, rationale
    raise StepSyntaxError(
        'an entry must be {"step": "<step>", "rationale": "..."} or a step string'
    )


def _shown(item: Any) -> str:
    """An entry as the rejection's ``step``: the text itself, or compact JSON, kept short."""
    if isinstance(item, dict) and isinstance(item.get("step"), str):
        item = item["step"]
    text = item if isinstance(item, str) else json.dumps(item, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def reply_rejection(reason: str) -> Rejection:
    """A rejection of a whole reply (its ``step`` is ``"<reply>"``)."""
    return Rejection(step=_WHOLE_REPLY, reason=reason)
