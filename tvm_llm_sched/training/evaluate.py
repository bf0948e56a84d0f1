"""How a served model answers the dataset's held-out prompts, without constrained decoding.

Constrained decoding makes any model name a legal step, so it hides what fine-tuning taught. Asked
freely (greedy, no response format), a model shows whether it learned the reply format (parse
rate), the menu (steps that are on the prompt's menu) and the data's choices (the dataset's own
step first).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import ProposerError
from ..proposers.prompts import menu_steps
from ..proposers.reply import parse_reply
from .data import read_examples


@dataclasses.dataclass
class ReplyQuality:
    """Counts over the prompts asked.

    Attributes
    ----------
    prompts : int
        Prompts asked.
    parsed : int
        Replies :func:`~tvm_llm_sched.proposers.reply.parse_reply` reads a step from.
    on_menu : int
        Replies whose first step is one of the prompt's menu steps.
    matches : int
        Replies whose first step is the dataset's step for that prompt.
    """

    prompts: int = 0
    parsed: int = 0
    on_menu: int = 0
    matches: int = 0

    def rates(self) -> dict[str, float]:
        """Parse, on-menu and match rates (0 when nothing was asked)."""
        n = self.prompts or 1
        return {
            "parse_rate": self.parsed / n,
            "on_menu_rate": self.on_menu / n,
            "match_rate": self.matches / n,
        }


def _first_step(text: str | None, finish_reason: str | None) -> str | None:
    try:
        parsed = parse_reply(text, finish_reason=finish_reason)
    except ProposerError:
        return None
    return parsed.steps[0].step.to_text() if parsed.steps else None


def reply_quality(
    base_url: str, model: str, dataset_dir: str | Path, *, limit: int = 40, max_tokens: int = 160
) -> ReplyQuality:
    """Ask a served model the first ``limit`` validation prompts of a ``chat`` dataset.

    Parameters
    ----------
    base_url : str
        The OpenAI API root of the server (``LocalModelServer.base_url``).
    model : str
        The model name it answers to.
    dataset_dir : str | Path
        A dataset directory (``chat_validation.jsonl``).
    limit : int
        Prompts to ask.
    max_tokens : int
        Reply cap (a cut reply counts as unparsed).
    """
    from ..llm import ChatClient, EndpointConfig

    examples, _ = read_examples(Path(dataset_dir, "chat_validation.jsonl"))
    quality = ReplyQuality()
    config = EndpointConfig(base_url=base_url, model=model, read_timeout=300.0)
    with ChatClient(config) as client:
        for example in examples[:limit]:
            reply = client.complete(example["prompt"], max_tokens=max_tokens, temperature=0.0)
            step = _first_step(reply.text, reply.finish_reason)
            quality.prompts += 1
            if step is None:
                continue
            quality.parsed += 1
            quality.on_menu += step in (menu_steps(example["prompt"][1]["content"]) or ())
            quality.matches += step == _first_step(example["completion"][0]["content"], None)
    return quality
