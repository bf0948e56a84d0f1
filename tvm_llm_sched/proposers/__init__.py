"""Proposers: turn a tuning situation into ranked atomic steps (a model, or the embedded policy).

``create(kind)`` builds one by name (``"openai"``, ``"expert"``, ``"replay"``);
``default_proposer()`` picks the model endpoint named by ``TVM_LLM_SCHED_BASE_URL``, else the
embedded expert policy.
"""

from .base import Outcome, Proposal, Proposer, RankedStep, Rejection, Situation, Validator
from .expert import ExpertConfig, ExpertPolicy
from .factory import PROPOSER_KINDS, create, default_proposer
from .llm import LLMProposer, LLMProposerConfig
from .prompts import (
    PromptRequest,
    build_messages,
    format_reply,
    parse_prompt,
    repair_message,
    situation_from_messages,
    system_prompt,
    user_prompt,
)
from .random import RandomProposer
from .reply import MAX_REPLY_CHARS, ParsedReply, parse_reply

__all__ = [
    "MAX_REPLY_CHARS",
    "PROPOSER_KINDS",
    "ExpertConfig",
    "ExpertPolicy",
    "LLMProposer",
    "LLMProposerConfig",
    "Outcome",
    "ParsedReply",
    "PromptRequest",
    "Proposal",
    "RandomProposer",
    "Proposer",
    "RankedStep",
    "Rejection",
    "Situation",
    "Validator",
    "build_messages",
    "create",
    "default_proposer",
    "format_reply",
    "parse_prompt",
    "parse_reply",
    "repair_message",
    "situation_from_messages",
    "system_prompt",
    "user_prompt",
]
