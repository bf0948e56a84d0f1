"""Reading a dataset for fine-tuning: the prompt profile must be the serving one, bad lines skip."""

from __future__ import annotations

import pytest

from tvm_llm_sched.errors import DatasetError
from tvm_llm_sched.proposers.prompts import PROMPT_PROFILES
from tvm_llm_sched.training import load_chat_dataset


def test_chat_examples_become_prompt_completion_pairs(tmp_path, make_dataset):
    data = load_chat_dataset(make_dataset(tmp_path / "d", train=6, validation=2))
    assert len(data.train) == 6 and len(data.validation) == 2 and data.skipped == 0
    first = data.train[0]
    assert [m["role"] for m in first["prompt"]] == ["system", "user"]
    assert [m["role"] for m in first["completion"]] == ["assistant"]
    assert data.profile.name == "compact"


def test_a_dataset_of_another_prompt_profile_is_refused_before_any_work(tmp_path, make_dataset):
    full = PROMPT_PROFILES["full"].card()
    directory = make_dataset(tmp_path / "d", profile=full)
    with pytest.raises(DatasetError, match="--profile compact") as err:
        load_chat_dataset(directory)
    assert "'name': 'full'" in str(err.value)
    assert len(load_chat_dataset(directory, profile="full").train) == 6  # served with full: fine


def test_a_dataset_of_an_earlier_version_of_the_same_profile_is_refused(tmp_path, make_dataset):
    # Same name, menu and reply as today's compact profile, but prompts of another layout (the
    # full IR before the outline, or an edited system prompt): the fingerprint tells them apart.
    earlier = {**PROMPT_PROFILES["compact"].card(), "ir": "full", "fingerprint": "0" * 16}
    directory = make_dataset(tmp_path / "d", profile=earlier)
    with pytest.raises(DatasetError, match="earlier version of the profile"):
        load_chat_dataset(directory)
    legacy = {"name": "compact", "menu_limit": 12, "reply": "json"}  # cards before fingerprints
    with pytest.raises(DatasetError, match="Rebuild it"):
        load_chat_dataset(make_dataset(tmp_path / "legacy", profile=legacy))


def test_a_tiny_dataset_and_a_directory_without_a_card_are_clear_errors(tmp_path, make_dataset):
    with pytest.raises(DatasetError, match="needs at least 4"):
        load_chat_dataset(make_dataset(tmp_path / "tiny", train=2))
    with pytest.raises(DatasetError, match="not a dataset"):
        load_chat_dataset(tmp_path)


def test_torn_and_malformed_lines_are_skipped_and_counted(tmp_path, make_dataset):
    directory = make_dataset(tmp_path / "d", train=5)
    with (directory / "chat_train.jsonl").open("a") as f:
        f.write('{"messages": [{"role": "user", "content": "no system"}]}\n{"messages": [{"ro')
    data = load_chat_dataset(directory)
    assert len(data.train) == 5 and data.skipped == 2


def test_max_samples_draws_a_seeded_subset(tmp_path, make_dataset):
    directory = make_dataset(tmp_path / "d", train=10)
    one = load_chat_dataset(directory, max_samples=4, seed=1).train
    again = load_chat_dataset(directory, max_samples=4, seed=1).train
    other = load_chat_dataset(directory, max_samples=4, seed=2).train
    assert len(one) == 4 and one == again and one != other


def test_finetune_without_the_train_extra_names_the_install_command(tmp_path, make_dataset):
    import importlib.util

    if all(importlib.util.find_spec(m) for m in ("torch", "transformers", "peft", "trl", "gguf")):
        pytest.skip("the train extra is installed")
    from typer.testing import CliRunner

    from tvm_llm_sched.cli import app

    result = CliRunner().invoke(app, ["finetune", str(make_dataset(tmp_path / "d")), "--out", "m"])
    assert result.exit_code == 2
    assert "pip install 'tvm-llm-sched[train]'" in result.output


def test_reply_quality_counts_parsed_on_menu_and_matching_replies(tmp_path, make_dataset):
    import json

    from tvm_llm_sched.serving import OpenAICompatServer
    from tvm_llm_sched.training import reply_quality

    directory = make_dataset(tmp_path / "d", validation=0)
    user = "IR: ...\nLegal steps (suggested parameters):\n```menu\nparallel(l0)\nvectorize(l1)\n```"
    lines = []
    for step in ("parallel(l0)", "vectorize(l1)", "unroll(l2)"):
        target = json.dumps({"think": "t", "steps": [step]})
        messages = [
            {"role": "system", "content": "s"},
            {"role": "user", "content": user},
            {"role": "assistant", "content": target},
        ]
        lines.append(json.dumps({"messages": messages}))
    (directory / "chat_validation.jsonl").write_text("\n".join(lines) + "\n")
    replies = iter(
        ['{"think": "x", "steps": ["parallel(l0)"]}', "no answer", '{"step": "unroll(l2)"}']
    )
    with OpenAICompatServer(lambda messages, request: next(replies)) as server:
        quality = reply_quality(server.base_url, "m", directory)
    assert (quality.prompts, quality.parsed, quality.on_menu, quality.matches) == (3, 2, 1, 2)
