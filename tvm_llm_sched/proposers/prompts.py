"""Prompts for model proposers: the system prompt, the user prompt of a situation, the reply format.

The system prompt teaches the step language (generated from
:func:`tvm_llm_sched.steps.describe_language`, so it never drifts from the parser) and the reply
format, Step-TP style::

    <think>short reasoning</think><answer>{"steps": [{"step": "split(l1, [8, 16])",
    "rationale": "one line"}, ...]}</answer>

(in JSON mode: one bare object ``{"think": "...", "steps": [...]}``).

The user prompt shows the situation for a reader, then carries it for a machine in a fenced block
tagged ``situation``, so a policy server (``tvm-llm-sched serve-policy``) rebuilds the exact
:class:`~tvm_llm_sched.proposers.base.Situation` with :func:`situation_from_messages`. To keep the
prompt short, the workload, the hardware line, the IR and the menu appear once (their header lines
and ``ir`` and ``menu`` blocks) and are left out of the JSON copy, which keeps them only when they
would not survive verbatim.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .base import Outcome, Proposal, Rejection, Situation

SITUATION_TAG = "situation"
_FENCE = "```"
_SITUATION_BLOCK = re.compile(r"```situation(?: k=(\d+))?\n(.*?)\n```", re.DOTALL)
_IR_BLOCK = re.compile(r"```ir\n(.*?)\n```", re.DOTALL)
_MENU_BLOCK = re.compile(r"```menu\n(.*?)\n?```", re.DOTALL)
_HEADER = {"workload": "Workload", "hardware": "Hardware"}  # situation key -> header label

_TASK = """\
You tune a tensor program for a CPU, one atomic schedule step at a time. You see the program as \
compact loop-nest IR (loops `name:extent`, sampled decisions d0, d1, ...), the steps applied so \
far, a menu of legal steps and measured latencies. Propose the next steps that most reduce latency.

Step language:
{language}

Rules: name only blocks, loops and decisions that appear in the IR (menu steps are known to \
apply); split and set_tile factors must multiply to the extent (a None split factor may \
round up); each proposed step is one alternative applied to the current state (not a \
sequence); distinct steps, best first, at most the number asked for."""

_TAGGED_FORMAT = """\
Reply in exactly this format and nothing else:
<think>short reasoning</think><answer>{"steps": [{"step": "<one step in text form>", \
"rationale": "<one line>"}]}</answer>"""

_JSON_FORMAT = """\
Reply with one JSON object and nothing else:
{"think": "<short reasoning>", "steps": [{"step": "<one step in text form>", \
"rationale": "<one line>"}]}"""

# The compact profile's system prompt: no step-language table (hundreds of tokens a small model
# cannot use); it picks from the menu, which a constrained endpoint enforces anyway.
_COMPACT_TASK = """\
You tune a tensor program for a CPU, one schedule step at a time. The user shows the loop nest \
(loops `name:extent`, sampled decisions d0, d1, ... with their values), measured latencies and a \
menu of legal steps: set_tile(d, factors) re-splits a loop (more parallel outer work, a \
vector-width innermost factor and cache-sized middle tiles help), set_choice(d, i) picks another \
candidate of a choice (e.g. the unroll depth), set_compute_location(d, i) moves a producer, other \
steps transform loops directly. Propose the menu steps most likely to reduce latency, copied \
exactly, best first, at most the number asked for."""

_COMPACT_FORMAT = """\
Reply with one JSON object and nothing else:
{"think": "<a few words>", "steps": ["<a menu step>"]}"""


_LOOP_LINE = re.compile(r"^(?:[A-Za-z_]+ )?l\d+:")  # "l3:16 l4:8", "parallel l0:32"
_STRUCTURE = ("root", "attrs", "block ", "if ", "else")


def outline(ir: str) -> str:
    """A situation's IR text (the layout of :func:`tvm_llm_sched.ir.render`) without its
    computations: the signature, loop nests, block lines and decisions, without stores,
    ``init``/``let``/``attr`` bodies or ``alloc`` lines. It reads the text only, so a proposer
    still sees nothing but its Situation.

    What a small model's prompt shows: every site a step can name (loops, blocks, decisions) is
    kept; the arithmetic, which a 135M model cannot use, costs a multi-block program a third of
    its tokens.

    Examples
    --------
    >>> text = "f32 A[4] -> B[4]\\nalloc T[4]\\nl0:4\\n block B\\n  B[l0]=A[l0]*2\\ndecisions"
    >>> print(outline(text))
    f32 A[4] -> B[4]
    l0:4
     block B
    decisions
    """
    lines = ir.splitlines()
    kept = lines[:1]  # the signature: dtypes and shapes
    for index, line in enumerate(lines[1:], start=1):
        if line == "decisions":  # sampled decisions, one per line, to the end
            return "\n".join(kept + lines[index:])
        text = line.lstrip()
        if text.startswith(_STRUCTURE) or _LOOP_LINE.match(text):
            kept.append(line)
    return "\n".join(kept)


@dataclasses.dataclass(frozen=True)
class PromptProfile:
    """What a model proposer's prompt holds, for search and training data alike.

    Attributes
    ----------
    name : str
        The profile's name (recorded in dataset cards).
    menu_limit : int
        Legal steps listed in the user turn (``SearchConfig.menu_limit`` at serving time).
    json_mode : bool
        Replies as one JSON object (``LLMProposerConfig.json_mode``) instead of tags.
    compact : bool
        For small models: a short system prompt without the step-language table, no
        machine-readable copy of the situation (so ``serve-policy`` cannot read it) and a short
        history; the system prompt never changes, so a server's prompt cache keeps serving it.
    history : int
        Recent outcomes (and, separately, rejections) listed, newest last.
    computations : bool
        Show each block's computation and the allocations; without them the IR is its outline
        (:func:`outline`: loops, blocks, decisions), every site a step names.
    """

    name: str
    menu_limit: int = 30
    json_mode: bool = False
    compact: bool = False
    history: int = 8
    computations: bool = True

    def card(self) -> dict[str, Any]:
        """What a dataset card records of the profile its prompts were built with.

        ``fingerprint`` hashes the system prompt and a fixed situation's user prompt, so a
        change of the prompt's wording or layout (not only of these fields) tells a dataset
        built before it from one built after.
        """
        probe = _fingerprint_situation()
        text = "\n".join(
            [
                system_prompt(json_mode=self.json_mode, compact=self.compact),
                user_prompt(probe, k=2, profile=self),
            ]
        )
        return {
            "name": self.name,
            "menu_limit": self.menu_limit,
            "reply": "json" if self.json_mode else "tagged",
            "ir": "full" if self.computations else "outline",
            "fingerprint": hashlib.sha256(text.encode()).hexdigest()[:16],
        }


PROMPT_PROFILES: dict[str, PromptProfile] = {
    p.name: p
    for p in (
        PromptProfile("full"),  # what LLMGuidedSearch sends a model proposer by default
        PromptProfile("full-json", json_mode=True),
        PromptProfile("no-menu", menu_limit=0),
        # ~900-1,150 prompt tokens a call instead of ~2,900-3,400: what a small model on a CPU
        # can afford (the IR's outline alone takes a third off a multi-block program)
        PromptProfile(
            "compact", menu_limit=12, json_mode=True, compact=True, history=3, computations=False
        ),
    )
}
"""Prompt profiles by name: ``full`` is the search's default for model proposers, ``compact``
the default for a local model (:func:`tvm_llm_sched.proposers.create` ``"local"``)."""


@functools.lru_cache(maxsize=1)
def _fingerprint_situation() -> Situation:
    """A fixed situation exercising every section of the user prompt (for ``card``)."""
    from ..steps import parse_step

    step = parse_step("parallel(l0)")
    return Situation(
        workload="fingerprint",
        ir="f32 A[8] -> B[8]\nalloc T[8]\nl0:8\n block B\n  B[l0]=A[l0]*2\ndecisions\nd0 x=1",
        hardware="cpu=fingerprint",
        menu=(step, parse_step("vectorize(l0)")),
        state_steps=(step,),
        state_latency_us=2.0,
        best_latency_us=1.0,
        recent=(
            Outcome(steps=(step,), latency_us=1.5),
            Outcome(steps=(), latency_us=None, error="x"),
        ),
        rejections=(Rejection(step="unroll(l9)", reason="no loop l9"),),
    )


@dataclasses.dataclass(frozen=True)
class PromptRequest:
    """What a prompt asks for: the situation and the most steps wanted."""

    situation: Situation
    k: int


@functools.lru_cache(maxsize=4)
def system_prompt(*, json_mode: bool = False, compact: bool = False) -> str:
    """The system prompt: the task, the step language and the reply format.

    Parameters
    ----------
    json_mode : bool
        Ask for one bare JSON object (for endpoints called with
        ``response_format={"type": "json_object"}``) instead of ``<think>``/``<answer>`` tags.
    compact : bool
        The compact profile's short prompt (menu steps only, JSON reply).

    Examples
    --------
    >>> "split(loop, factors)" in system_prompt()
    True
    >>> len(system_prompt(compact=True)) < len(system_prompt()) // 3
    True
    """
    from ..steps import describe_language

    if compact:
        return f"{_COMPACT_TASK}\n\n{_COMPACT_FORMAT}"

    # the table's column padding helps people, not models: "sig: doc" costs fewer tokens
    language = re.sub(r"(?m)^(\w+\([^)\n]*\)) {2,}", r"\1: ", describe_language())
    task = _TASK.format(language=language)
    return f"{task}\n\n{_JSON_FORMAT if json_mode else _TAGGED_FORMAT}"


def _plain(text: str) -> str:
    """Readable text with backticks made harmless, so it can never open or close a block."""
    return text.replace("`", "'")


def _us(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.4g} us"


def _outcome_line(outcome: Outcome) -> str:
    steps = "; ".join(step.to_text() for step in outcome.steps) or "(no steps)"
    result = _us(outcome.latency_us) if outcome.error is None else f"failed: {outcome.error}"
    return _plain(f"- {steps} -> {result}")


def _fits_block(text: str) -> bool:
    return _FENCE not in text


def _fits_line(text: str) -> bool:
    return "`" not in text and "\n" not in text and "\r" not in text and text.strip() == text


def user_prompt(situation: Situation, *, k: int = 4, profile: PromptProfile | None = None) -> str:
    """The user turn for ``situation``: readable sections, then its JSON in a fenced block.

    Parameters
    ----------
    situation : Situation
        What the model should look at.
    k : int
        The most steps to ask for (also written into the ``situation`` block's tag).
    profile : PromptProfile | None
        How much to show (``full`` when ``None``); a compact profile leaves out the JSON block.

    Returns
    -------
    str
        The prompt; :func:`parse_prompt` inverts it unless the profile is compact.

    Raises
    ------
    ValueError
        ``k`` is not a positive int.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    profile = profile or PROMPT_PROFILES["full"]
    data = situation.to_json()
    lines = []
    for key, label in _HEADER.items():
        value = data[key]
        if _fits_line(value):
            del data[key]  # shown verbatim in the header line, read back from there
        lines.append(f"{label}: {_plain(value)}")
    if _fits_block(situation.ir):
        del data["ir"]
        ir = situation.ir if profile.computations else outline(situation.ir)
        lines += ["IR:", f"{_FENCE}ir", ir, _FENCE]
    else:
        lines += ["IR: see the situation block"]
    lines.append("Applied steps: " + _plain("; ".join(data["state_steps"]) or "none"))
    menu = data["menu"]
    menu_ok = menu and all(s and "\n" not in s and _fits_block(s) and s.strip() == s for s in menu)
    if menu_ok:
        del data["menu"]
        lines += ["Legal steps (suggested parameters):", f"{_FENCE}menu", *menu, _FENCE]
    lines.append(
        f"Latency: best so far {_us(situation.best_latency_us)}, "
        f"this state {_us(situation.state_latency_us)}"
    )
    shown = profile.history
    if situation.recent and shown:
        lines.append("Recent results (newest last):")
        lines += [_outcome_line(o) for o in situation.recent[-shown:]]
    if situation.rejections and shown:
        lines.append("Recently rejected (newest last):")
        lines += [_plain(f"- {r.step}: {r.reason}") for r in situation.rejections[-shown:]]
    lines.append(f"Propose at most {k} steps for this state, best first.")
    if profile.compact:
        return "\n".join(lines)
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"))
    lines += ["Machine-readable copy (ignore):", f"{_FENCE}{SITUATION_TAG} k={k}", payload, _FENCE]
    return "\n".join(lines)


def build_messages(
    situation: Situation,
    *,
    k: int = 4,
    json_mode: bool = False,
    profile: PromptProfile | None = None,
) -> list[dict]:
    """The system and user messages asking for up to ``k`` steps for ``situation``.

    ``profile`` (``full`` when ``None``) decides what is shown; a JSON reply is asked for when
    ``json_mode`` or the profile's ``json_mode`` is set.
    """
    profile = profile or PROMPT_PROFILES["full"]
    json_reply = json_mode or profile.json_mode
    return [
        {"role": "system", "content": system_prompt(json_mode=json_reply, compact=profile.compact)},
        {"role": "user", "content": user_prompt(situation, k=k, profile=profile)},
    ]


def repair_message(rejections: Sequence[Rejection], *, k: int = 4) -> str:
    """The user turn after a reply with nothing usable: every reason, then the request again."""
    # model text is echoed here: made harmless so it cannot pose as a situation block
    reasons = [_plain(f"- {r.step}: {r.reason}") for r in rejections]
    return "\n".join(
        [
            "None of your steps can be used:",
            *(reasons or ["- the reply held no steps"]),
            f"Propose at most {k} other steps for the same state, using only sites in the IR, "
            "in the same reply format.",
        ]
    )


def _content(message: Any) -> str:
    if not isinstance(message, Mapping):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: [{"type": "text", "text": ...}, ...]
        parts = [p.get("text") for p in content if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def parse_prompt(messages: Sequence[Mapping[str, Any]]) -> PromptRequest:
    """Rebuild the situation and ``k`` from messages built by :func:`build_messages`.

    The last user message that holds a ``situation`` block is read (repair turns hold none).

    Raises
    ------
    ValueError
        No user message carries a ``situation`` block, or the block is not a valid situation.
    """
    for message in reversed(list(messages)):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        text = _content(message)
        found = list(_SITUATION_BLOCK.finditer(text))
        if found:
            return _decode(text, found[-1])
    raise ValueError(
        "no situation in the messages: the last user message must hold a ```situation block "
        "(see tvm_llm_sched.proposers.prompts.user_prompt)"
    )


def situation_from_messages(messages: Sequence[Mapping[str, Any]]) -> Situation:
    """The :class:`Situation` a prompt from :func:`build_messages` was built from.

    Raises
    ------
    ValueError
        The messages carry no (valid) situation.
    """
    return parse_prompt(messages).situation


def menu_steps(user_prompt: str) -> list[str] | None:
    """The legal steps a user turn lists (its ``menu`` block), or ``None`` without one."""
    menu = _MENU_BLOCK.search(user_prompt)
    return None if menu is None else [line for line in menu.group(1).split("\n") if line]


def _decode(text: str, block: re.Match[str]) -> PromptRequest:
    try:
        data = json.loads(block.group(2))
    except ValueError as exc:
        raise ValueError(f"the situation block is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("the situation block must hold a JSON object")
    head = text[: block.start()]
    for key, label in _HEADER.items():
        if key not in data:
            line = re.search(rf"(?m)^{label}: (.*)$", head)
            if line is None:
                raise ValueError(f"the situation leaves out its {key} but the prompt has no line")
            data[key] = line.group(1)
    if "ir" not in data:
        ir = _IR_BLOCK.search(head)
        if ir is None:
            raise ValueError("the situation leaves out its IR but the prompt has no ```ir block")
        data["ir"] = ir.group(1)
    if "menu" not in data:
        menu = menu_steps(head)
        if menu is None:
            raise ValueError("the situation leaves out its menu but the prompt has no menu block")
        data["menu"] = menu
    try:
        situation = Situation.from_json(data)
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(f"the situation block is not a situation: {exc}") from None
    return PromptRequest(situation=situation, k=int(block.group(1) or 4))


def format_reply(proposal: Proposal, *, json_mode: bool = False, compact: bool = False) -> str:
    """Render ``proposal`` in the reply format of :func:`system_prompt`.

    Parameters
    ----------
    proposal : Proposal
        Its steps (best first), rationales and reasoning are written; rejections are not.
    json_mode : bool
        One bare JSON object ``{"think": ..., "steps": [...]}`` instead of tags.
    compact : bool
        The reply a constrained small model gives (the compact profile, the shape of
        :func:`~tvm_llm_sched.proposers.schema.reply_schema`): JSON, steps as bare strings, and a
        ``think`` of at most :data:`~tvm_llm_sched.proposers.schema.THINK_CHARS` characters (the
        reasoning, else the first step's rationale, cut at a word).

    Examples
    --------
    >>> from tvm_llm_sched.proposers.base import RankedStep
    >>> from tvm_llm_sched.steps import parse_step
    >>> step = RankedStep(step=parse_step("parallel(l1)"), rationale="hi")
    >>> print(format_reply(Proposal(steps=(step,), reasoning="spatial")))
    <think>spatial</think><answer>{"steps": [{"step": "parallel(l1)", "rationale": "hi"}]}</answer>
    """
    if compact:
        from .schema import THINK_CHARS

        think = proposal.reasoning or (proposal.steps[0].rationale if proposal.steps else "")
        if len(think) > THINK_CHARS:
            think = think[: THINK_CHARS + 1].rsplit(" ", 1)[0][:THINK_CHARS].rstrip(" ,;:")
        return json.dumps({"think": think, "steps": [s.step.to_text() for s in proposal.steps]})
    steps = [{"step": s.step.to_text(), "rationale": s.rationale} for s in proposal.steps]
    if json_mode:
        return json.dumps({"think": proposal.reasoning, "steps": steps})
    return f"<think>{proposal.reasoning}</think><answer>{json.dumps({'steps': steps})}</answer>"
