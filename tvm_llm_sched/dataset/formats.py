"""The dataset's training formats, one JSON object per line, each built from samples.

- ``chat``: ``{"messages": [system, user, assistant]}``; system and user are what LLMGuidedSearch
  sends its proposer for the before state (:func:`~tvm_llm_sched.proposers.prompts.build_messages`,
  the recorded call's situation when the run recorded one), the assistant turn is the reply format
  the proposer parses, with the chosen step and an evidence-grounded ``<think>``;
- ``steptp``: Step-TP's layout: the user asks for a numerically equivalent transformed IR, the
  answer is ``{"transformed_IR": ..., "applied_strategy": ...}``;
- ``pairs``: ``{"prompt": [system, user], "chosen": [assistant], "rejected": [assistant]}`` for
  DPO-style trainers (TRL's conversational preference format).
"""

from __future__ import annotations

import json
from typing import Any

from ..proposers.base import Proposal, RankedStep, Situation
from ..proposers.prompts import PROMPT_PROFILES, PromptProfile, build_messages, format_reply
from ..steps import parse_step
from .reasoning import explain_step, reasoning
from .sample import Sample

FORMATS = ("chat", "steptp", "pairs")
"""The formats :func:`~tvm_llm_sched.dataset.build_dataset` can write."""

# Step-TP's strategy names for our step kinds (theirs where one fits, ours otherwise).
STEPTP_STRATEGY = {
    "split": "loop_split",
    "reorder": "loop_reorder",
    "fuse": "loop_fusion",
    "parallel": "loop_parallelization",
    "vectorize": "loop_vectorization",
    "unroll": "loop_unrolling",
    "cache_read": "cache_read_write",
    "cache_write": "cache_read_write",
    "compute_at": "operator_fusion",
    "reverse_compute_at": "operator_fusion",
    "compute_inline": "compute_inline",
    "reverse_compute_inline": "compute_inline",
    "rfactor": "reduction_factorization",
    "decompose_reduction": "loop_split",
    "set_tile": "loop_tiling",
    "set_compute_location": "operator_fusion",
}


def _think(sample: Sample, situation: Situation, names: Any) -> str:
    """The evidence-grounded reasoning for a single-step sample's step."""
    return reasoning(
        sample.steps[0],
        situation.facts,
        before_us=sample.before.latency_us,
        after_us=sample.after.latency_us,
        error=sample.after.error,
        names=names,
    )


def _reply(sample: Sample, situation: Situation, names: Any, *, profile: PromptProfile) -> str:
    step = parse_step(sample.steps[0])
    rationale = explain_step(step, situation.facts, names)
    # A compact reply has room for the step's own rationale, not the evidence paragraph.
    think = "" if profile.compact else _think(sample, situation, names)
    proposal = Proposal(steps=(RankedStep(step=step, rationale=rationale),), reasoning=think)
    return format_reply(proposal, json_mode=profile.json_mode, compact=profile.compact)


def _prompt(situation: Situation, k: int, profile: PromptProfile) -> list[dict[str, str]]:
    return build_messages(situation, k=k, profile=profile)


def chat_line(
    sample: Sample,
    situation: Situation,
    *,
    k: int,
    names: Any = None,
    profile: PromptProfile = PROMPT_PROFILES["full"],
) -> dict[str, Any]:
    """One ``chat`` example: the proposer's prompt for the before state under ``profile`` (what
    the search sends a model served with it), and the sample's step in that profile's reply
    format."""
    messages = _prompt(situation, k, profile)
    reply = _reply(sample, situation, names, profile=profile)
    return {"messages": [*messages, {"role": "assistant", "content": reply}]}


def pair_line(
    chosen: Sample,
    rejected: Sample,
    situation: Situation,
    *,
    k: int,
    names: Any = None,
    profile: PromptProfile = PROMPT_PROFILES["full"],
) -> dict[str, Any]:
    """One preference pair from one state: the faster step chosen over a slower or failing one."""

    def turn(sample: Sample) -> list[dict[str, str]]:
        return [{"role": "assistant", "content": _reply(sample, situation, names, profile=profile)}]

    return {
        "prompt": _prompt(situation, k, profile),
        "chosen": turn(chosen),
        "rejected": turn(rejected),
    }


def _steptp_strategy(sample: Sample, situation: Situation) -> str:
    step = parse_step(sample.steps[0])
    if step.kind == "set_choice":
        fact = situation.facts.decision(step["decision"])
        target = getattr(fact, "target", "")
        return "loop_unrolling" if "unroll" in target else "loop_parallelization"
    if step.kind == "annotate":
        return "loop_unrolling" if "unroll" in str(step["key"]) else "annotation"
    return STEPTP_STRATEGY.get(step.kind, step.kind)


def steptp_line(sample: Sample, situation: Situation, inputs: str, names: Any = None) -> dict:
    """One example in Step-TP's layout (user asks for the transformed IR, answer JSON)."""
    user = (
        "Here is a tensor program in step-level IR:\n"
        f"{sample.before.ir}\n"
        f"Inputs: {inputs}\n"
        f"Hardware: {sample.hardware}\n"
        "Apply one numerically equivalent transformation that makes it faster. Answer with JSON "
        'holding "transformed_IR" and "applied_strategy".'
    )
    step = parse_step(sample.steps[0])
    think = _think(sample, situation, names)
    answer = {
        "transformed_IR": sample.after.ir,
        "applied_strategy": _steptp_strategy(sample, situation),
        "step": step.to_text(),
    }
    content = f"<think>{think}</think><answer>{json.dumps(answer)}</answer>"
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": content}]
    }
