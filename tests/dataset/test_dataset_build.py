"""Datasets regenerated from real tuning work dirs: LLMGuidedSearch (with its lineage, against an
OpenAI-compatible endpoint on 127.0.0.1, recorded) and EvolutionarySearch (records only)."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from typer.testing import CliRunner

from tvm_llm_sched.cli import app
from tvm_llm_sched.database.lineage import LINEAGE_FILE, SITUATION_FILE, read_lineage
from tvm_llm_sched.dataset import (
    DatasetConfig,
    build_dataset,
    dataset_stats,
    load_samples,
    verify_dataset,
)
from tvm_llm_sched.dataset.edits import decision_edits
from tvm_llm_sched.llm import RecordingStore
from tvm_llm_sched.proposers.prompts import system_prompt
from tvm_llm_sched.proposers.reply import parse_reply
from tvm_llm_sched.serving import PolicyServer
from tvm_llm_sched.tune import tune_workload

pytestmark = pytest.mark.tuning

TRIALS, PER_ITER = 16, 8  # two iterations: the second expands measured states


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as env, PolicyServer(model="expert-policy") as server:
        env.setenv("TVM_LLM_SCHED_BASE_URL", server.base_url)
        env.setenv("TVM_LLM_SCHED_MODEL", "expert-policy")
        tune_workload(
            "GMM:0",
            trials=TRIALS,
            num_trials_per_iter=PER_ITER,
            work_dir=root / "llm",
            record_to=root / "rec",
            progress=False,
        )
    tune_workload(
        "GMM:0",
        trials=TRIALS,
        num_trials_per_iter=PER_ITER,
        strategy="evolutionary",
        work_dir=root / "es",
        progress=False,
    )
    return root


@pytest.fixture(scope="module")
def dataset(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    # min_speedup 1.0: these tests check parity and structure, not how much faster a step was
    config = DatasetConfig(min_speedup=1.0, kind_ratio=1000)
    report = build_dataset([runs / "llm", runs / "es"], out, config)
    return out, report


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _digest(directory):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in directory.rglob("*")
        if p.is_file()
    }


def test_lineage_covers_every_measured_candidate_and_tvm_still_loads_the_work_dir(runs):
    from tvm.s_tir import meta_schedule as ms

    lineage = read_lineage(runs / "llm")
    records = _lines(runs / "llm" / "database_tuning_record.json")
    assert not lineage.missing and lineage.malformed == 0
    assert len(lineage.entries) == len(records) == TRIALS
    from tvm_llm_sched.database.lineage import trace_key

    assert {e.record for e in lineage.entries} == {trace_key(r[1][0]) for r in records}
    assert {e.source for e in lineage.entries} >= {"proposer"}
    assert (runs / "llm" / SITUATION_FILE).stat().st_size > 0
    assert len(ms.database.JSONDatabase(work_dir=str(runs / "llm"))) == TRIALS
    assert not (runs / "es" / LINEAGE_FILE).exists()  # stock strategies write no side file


def test_every_sample_replays(dataset):
    out, report = dataset
    assert report.samples > 0
    verified = verify_dataset(out)
    assert (verified.samples, verified.passed, verified.malformed) == (report.samples,) * 2 + (0,)


def test_lineage_steps_match_the_records(dataset):
    samples, _ = load_samples(dataset[0])
    lineage = [s for s in samples if s.origin == "lineage" and s.source == "proposer"]
    assert lineage, "the LLMGuidedSearch run's proposer steps became samples"
    # verify_dataset replayed them: the recorded steps applied to the parent record give exactly
    # the child record's program
    assert all(s.before.record != s.after.record for s in lineage)


def test_decision_pairs_are_exactly_one_edit_apart(dataset):
    samples, _ = load_samples(dataset[0])
    pairs = [s for s in samples if s.origin == "decisions" and len(s.steps) == 1]
    assert pairs, "EvolutionarySearch's mutations give one-edit pairs"
    for sample in pairs:
        edits = decision_edits(sample.before.trace, sample.after.trace)
        assert [e.to_text() for e in edits] == list(sample.steps)
    trajectories = [s for s in samples if len(s.steps) > 1]
    assert all(len(s.intermediate) == len(s.steps) - 1 for s in trajectories)


def test_chat_user_turn_is_a_message_the_strategy_sent(runs, dataset):
    out, _ = dataset
    sent = {
        message["content"]
        for recording in RecordingStore(runs / "rec" / "chat")
        for message in recording.request.messages
        if message["role"] == "user"
    }
    chat = _lines(out / "chat_train.jsonl") + _lines(out / "chat_validation.jsonl")
    assert chat
    users = [line["messages"][1]["content"] for line in chat]
    assert sent & set(users), "a chat example's user turn is byte-identical to a sent prompt"
    for line in chat:
        system, _, assistant = line["messages"]
        assert system["content"] == system_prompt()
        reply = parse_reply(assistant["content"])
        assert len(reply.steps) == 1 and not reply.rejections
        assert "Measured:" in reply.reasoning


def test_formats_and_card(dataset):
    out, report = dataset
    for line in _lines(out / "pairs_train.jsonl") + _lines(out / "pairs_validation.jsonl"):
        assert line["chosen"] != line["rejected"] and line["prompt"][0]["role"] == "system"
    for line in _lines(out / "steptp_train.jsonl") + _lines(out / "steptp_validation.jsonl"):
        answer = line["messages"][1]["content"].split("<answer>")[1].removesuffix("</answer>")
        assert {"transformed_IR", "applied_strategy"} <= set(json.loads(answer))
    card = json.loads((out / "card.json").read_text())
    assert card["samples"] == report.samples and card["verification"]["rate"] == 1.0
    assert card["prompt_profile"]["menu_limit"] == 30
    stats = dataset_stats(out)
    assert stats["samples"] == report.samples
    splits = {s.split: s.workload_key for s in load_samples(out)[0]}
    assert len(set(splits.values())) == len(splits)  # no workload in both splits


def test_bad_lines_are_counted_and_skipped_and_work_dirs_untouched(runs, tmp_path):
    work = tmp_path / "llm"
    shutil.copytree(runs / "llm", work)
    with (work / "database_tuning_record.json").open("a") as f:
        f.write('[0, [[["GetSBlock"')  # a torn last line
    with (work / LINEAGE_FILE).open("a") as f:
        f.write("not json\n")
    before = _digest(work)
    report = build_dataset([work], tmp_path / "out", DatasetConfig(formats=("chat",)))
    assert _digest(work) == before
    skipped = report.counts["read"]["skipped"]
    assert skipped["malformed record line"] == 1 and skipped["malformed lineage line"] == 1
    assert report.records == TRIALS and report.samples > 0


def test_cli_build_stats_verify(runs, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli"
    built = runner.invoke(
        app, ["dataset", "build", str(runs / "es"), "--out", str(out), "--no-progress"]
    )
    assert built.exit_code == 0, built.output
    assert "samples from 16 records" in built.output
    stats = runner.invoke(app, ["dataset", "stats", str(out)])
    assert stats.exit_code == 0 and '"samples"' in stats.output
    verified = runner.invoke(app, ["dataset", "verify", str(out), "--no-progress"])
    assert verified.exit_code == 0 and "(100.0 %)" in verified.output
    missing = runner.invoke(app, ["dataset", "build", str(tmp_path), "--out", str(out)])
    assert missing.exit_code == 2 and "not a MetaSchedule work dir" in missing.output
