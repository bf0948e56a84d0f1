"""Fixtures of the fine-tuning tests: tiny compact-profile datasets, and the ``train`` extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tvm_llm_sched.errors import DependencyError
from tvm_llm_sched.proposers.prompts import PROMPT_PROFILES


def _write_dataset(
    directory: Path, *, profile: dict | None = None, train: int = 6, validation: int = 2
) -> Path:
    """A dataset directory as ``dataset build --format chat`` writes it, with short examples."""
    directory.mkdir(parents=True, exist_ok=True)
    profile = profile or PROMPT_PROFILES["compact"].card()
    (directory / "card.json").write_text(json.dumps({"prompt_profile": profile}))

    def line(i: int) -> str:
        messages = [
            {"role": "system", "content": "You tune a tensor program, one step at a time."},
            {
                "role": "user",
                "content": f"Program {i}: loops i:{64 * (i + 1)}, j:128. Menu: 1. parallel(l0)",
            },
            {
                "role": "assistant",
                "content": '{"think": "parallel outer loop", "steps": ["parallel(l0)"]}',
            },
        ]
        return json.dumps({"messages": messages})

    (directory / "chat_train.jsonl").write_text("".join(line(i) + "\n" for i in range(train)))
    (directory / "chat_validation.jsonl").write_text(
        "".join(line(100 + i) + "\n" for i in range(validation))
    )
    return directory


@pytest.fixture(scope="session")
def train_extra():
    """Skip unless the ``train`` extra (PyTorch, transformers, peft, trl, gguf) is installed."""
    from tvm_llm_sched.training.base_model import require_training

    try:
        require_training()
    except DependencyError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def make_dataset():
    """``make_dataset(directory, profile=None, train=6, validation=2)``: a tiny dataset dir."""
    return _write_dataset
