"""A dataset's ``chat`` split as supervised fine-tuning examples (prompt -> the assistant turn).

The examples are the proposer's own prompts (``tvm-llm-sched dataset build``), so a model trained
on them is asked exactly what it learned to answer: this module refuses a dataset built with a
prompt profile other than the one the model will be served with.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from pathlib import Path
from typing import Any

from ..dataset.card import CARD_JSON
from ..errors import DatasetError
from ..proposers.prompts import PROMPT_PROFILES, PromptProfile

logger = logging.getLogger("tvm_llm_sched.training")

MIN_TRAIN_SAMPLES = 4
"""Fewer training examples than this is not a fine-tune worth starting."""


@dataclasses.dataclass
class ChatDataset:
    """Prompt/completion examples of one dataset.

    Attributes
    ----------
    train, validation : list[dict]
        ``{"prompt": [system, user], "completion": [assistant]}`` (TRL's conversational
        prompt-completion format: the loss covers the completion only).
    profile : PromptProfile
        The prompt profile the examples were built with.
    skipped : int
        Lines that were not a complete system/user/assistant example (logged).
    """

    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    profile: PromptProfile
    skipped: int = 0


def _profile_of(directory: Path) -> dict[str, Any]:
    card = directory / CARD_JSON
    if not card.is_file():
        raise DatasetError(
            f"{directory} is not a dataset (no {CARD_JSON}): build one with "
            "`tvm-llm-sched dataset build WORK_DIRS --out DIR --profile compact`"
        )
    try:
        return json.loads(card.read_text())["prompt_profile"]
    except (ValueError, KeyError) as exc:
        raise DatasetError(f"{card} is unreadable or has no prompt_profile: {exc}") from None


def _check_profile(recorded: dict[str, Any], profile: PromptProfile, directory: Path) -> None:
    wanted = profile.card()
    got = {key: recorded.get(key) for key in wanted}
    if got != wanted:
        rebuild = f"Rebuild it with `tvm-llm-sched dataset build ... --profile {profile.name}`"
        if got["name"] in (None, profile.name):  # same name: prompts of another version
            hint = f"{rebuild} (its prompts are of an earlier version of the profile)"
        else:
            hint = f"{rebuild} or pass --profile {got['name']}"
        raise DatasetError(
            f"{directory} was built with the prompt profile {got}, but the model will be served "
            f"with {wanted}: a model trained on other prompts than it is asked answers worse. "
            + hint
        )


def read_examples(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The prompt/completion examples of one ``chat_*.jsonl`` file and the lines skipped (not a
    system/user/assistant example, logged); a missing file has none."""
    if not path.is_file():
        return [], 0
    out, skipped = [], 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
            roles = [m["role"] for m in messages]
            contents = [m["content"] for m in messages]
        except (ValueError, KeyError, TypeError):
            roles, contents = [], []
        if roles != ["system", "user", "assistant"] or not all(
            isinstance(c, str) and c for c in contents
        ):
            logger.warning("%s:%d is not a system/user/assistant example; skipped", path, number)
            skipped += 1
            continue
        out.append({"prompt": messages[:2], "completion": messages[2:]})
    return out, skipped


def load_chat_dataset(
    directory: str | Path,
    *,
    profile: str = "compact",
    max_samples: int | None = None,
    seed: int = 0,
) -> ChatDataset:
    """Read ``chat_train.jsonl`` and ``chat_validation.jsonl`` of a dataset directory.

    Parameters
    ----------
    directory : str | Path
        A directory written by ``tvm-llm-sched dataset build``.
    profile : str
        The prompt profile the model will be served with (``compact`` for a local model).
    max_samples : int | None
        Keep at most this many training examples (a seeded random subset).
    seed : int
        Seed of that subset.

    Raises
    ------
    DatasetError
        No dataset there, a different prompt profile, or fewer than
        :data:`MIN_TRAIN_SAMPLES` usable training examples.
    """
    directory = Path(directory)
    if profile not in PROMPT_PROFILES:
        raise DatasetError(
            f"unknown prompt profile {profile!r}; choose from {list(PROMPT_PROFILES)}"
        )
    wanted = PROMPT_PROFILES[profile]
    _check_profile(_profile_of(directory), wanted, directory)
    train, skipped_train = read_examples(directory / "chat_train.jsonl")
    validation, skipped_validation = read_examples(directory / "chat_validation.jsonl")
    if len(train) < MIN_TRAIN_SAMPLES:
        raise DatasetError(
            f"{directory} holds {len(train)} usable chat training examples; a fine-tune needs at "
            f"least {MIN_TRAIN_SAMPLES} (tune more workloads, or lower --min-speedup when building)"
        )
    if max_samples is not None and len(train) > max_samples:
        train = random.Random(seed).sample(train, max_samples)
    return ChatDataset(
        train=train,
        validation=validation,
        profile=wanted,
        skipped=skipped_train + skipped_validation,
    )
