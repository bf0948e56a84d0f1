"""Constrained decoding: a JSON schema of the reply that only admits the state's legal steps.

Endpoints that implement OpenAI structured outputs (``response_format={"type": "json_schema",
...}``: llama.cpp, vLLM, Ollama, SGLang, OpenAI) decode under the schema, so every reply parses and
every step it names is one of the menu's, which the search has checked to apply. The reply shape
is the JSON reply format of :mod:`~tvm_llm_sched.proposers.prompts` (and of the datasets),
``{"think": "...", "steps": [...]}``, with each step a bare string (``{"step": ...}`` wrappers
cost a small model tokens; the reply parser takes both). A model constrained this way still chooses
*which* legal steps: parse and apply rates say nothing about quality, latency does.
"""

from __future__ import annotations

from typing import Any

from .base import Situation

THINK_CHARS = 80
"""Cap on the ``think`` string: a small model left free talks until ``max_tokens``, and every
token is paid for on the CPU that measures."""


def reply_schema(situation: Situation, *, k: int) -> dict[str, Any] | None:
    """The schema of a reply naming 1 to ``k`` of ``situation``'s menu steps.

    Parameters
    ----------
    situation : Situation
        Its menu (legal steps with parameters) is the set of allowed steps.
    k : int
        The most steps a reply may list.

    Returns
    -------
    dict | None
        A JSON schema, or ``None`` when the situation has no menu (nothing to constrain to).

    Examples
    --------
    >>> from tvm_llm_sched.steps import parse_step
    >>> s = Situation(workload="w", ir="", hardware="", menu=(parse_step("parallel(l0)"),))
    >>> reply_schema(s, k=2)["properties"]["steps"]["items"]["enum"]
    ['parallel(l0)']
    """
    options = list(dict.fromkeys(step.to_text() for step in situation.menu))
    if not options:
        return None
    step = {"type": "string", "enum": options}
    # "uniqueItems" would forbid repeats, but llama.cpp's grammar conversion ignores it: the
    # parser turns a repeated step into a counted duplicate instead.
    return {
        "type": "object",
        "properties": {
            "think": {"type": "string", "maxLength": THINK_CHARS},
            "steps": {
                "type": "array",
                "items": step,
                "minItems": 1,
                "maxItems": max(1, min(k, len(options))),
            },
        },
        "required": ["think", "steps"],
        "additionalProperties": False,
    }


def schema_response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI ``response_format`` that asks an endpoint to decode under ``schema``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "proposed_steps", "strict": True, "schema": schema},
    }
