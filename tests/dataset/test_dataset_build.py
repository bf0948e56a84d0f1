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
from tvm_llm_sched.dataset.formats import chat_line
from tvm_llm_sched.llm import RecordingStore
from tvm_llm_sched.proposers.base import Situation
from tvm_llm_sched.proposers.prompts import PROMPT_PROFILES, outline, system_prompt
from tvm_llm_sched.proposers.reply import parse_reply
from tvm_llm_sched.proposers.schema import THINK_CHARS
from tvm_llm_sched.testing import policy_endpoint
from tvm_llm_sched.tune import tune_workload

pytestmark = pytest.mark.tuning

TRIALS, PER_ITER = 16, 8  # two iterations: the second expands measured states


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    with policy_endpoint():
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
    config = DatasetConfig(min_speedup=1.0, kind_ratio=1000, jobs=2)  # two processes
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
    out, report = dataset
    # every recorded edge passed the builder's replay check: the steps the side file holds,
    # applied to the parent record's state, give exactly the child record's program
    assert not [k for k in report.counts["dropped"] if k.startswith("replay check failed")]
    samples, _ = load_samples(out)
    lineage = [s for s in samples if s.origin == "lineage" and s.source == "proposer"]
    assert lineage, "the LLMGuidedSearch run's proposer steps became samples"
    assert all(s.before.record != s.after.record for s in lineage)
    assert report.counts["notes"] == {
        "work dirs without a lineage side file (steps from decisions only)": 1  # the ES run
    }


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
    samples, _ = load_samples(out)
    recorded = [s for s in samples if s.situation is not None]
    assert recorded, "the LLMGuidedSearch run's proposer samples carry the situation it sent"
    for sample in recorded:
        line = chat_line(sample, Situation.from_json(sample.situation), k=sample.k)
        assert line["messages"][1]["content"] in sent  # byte-identical to a prompt on the wire
    chat = _lines(out / "chat_train.jsonl") + _lines(out / "chat_validation.jsonl")
    assert chat
    for line in chat:
        system, _, assistant = line["messages"]
        assert system["content"] == system_prompt()
        reply = parse_reply(assistant["content"])
        assert len(reply.steps) == 1 and not reply.rejections
        assert "Measured:" in reply.reasoning


def test_a_compact_dataset_asks_and_answers_as_a_constrained_small_model_does(runs, tmp_path):
    # Train/serve parity for the local model: its prompt (short system prompt, no
    # machine-readable copy) and the constrained reply shape (bare menu steps, a short think).
    compact = PROMPT_PROFILES["compact"]
    config = DatasetConfig(min_speedup=1.0, kind_ratio=1000, formats=("chat",), profile=compact)
    build_dataset([runs / "llm", runs / "es"], tmp_path / "d", config)
    chat = _lines(tmp_path / "d" / "chat_train.jsonl")
    chat += _lines(tmp_path / "d" / "chat_validation.jsonl")
    assert chat
    for line in chat:
        system, user, assistant = line["messages"]
        assert system["content"] == system_prompt(json_mode=True, compact=True)
        assert "Machine-readable copy" not in user["content"]
        ir = user["content"].split("```ir\n")[1].split("\n```")[0]
        assert outline(ir) == ir and "block " in ir  # loops and blocks, no computations
        reply = json.loads(assistant["content"])
        assert set(reply) == {"think", "steps"} and len(reply["think"]) <= THINK_CHARS
        assert [type(s) for s in reply["steps"]] == [str]
        menu = user["content"].split("```menu\n")[1].split("```")[0].splitlines()
        assert reply["steps"][0] in menu  # a step a constrained model can name
        assert len(menu) <= compact.menu_limit
    card = json.loads((tmp_path / "d" / "card.json").read_text())
    recorded = card["prompt_profile"]
    assert recorded == {**compact.card(), "history": recorded["history"]}


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
        f.write('[0, [[[5], "x"], [1e-6], "llvm", []]]\n')  # JSON, but not a record
        f.write('[0, [[["GetSBlock"')  # a torn last line
    with (work / LINEAGE_FILE).open("a") as f:
        f.write("not json\n")
        f.write('{"v": 1, "workload": "1", "record": "a", "source": "proposer", "parent": [1]}\n')
    before = _digest(work)
    report = build_dataset([work], tmp_path / "out", DatasetConfig(formats=("chat",)))
    assert _digest(work) == before
    skipped = report.counts["read"]["skipped"]
    assert skipped["malformed record line"] == 2 and skipped["malformed lineage line"] == 2
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


def test_the_dataset_does_not_depend_on_the_number_of_processes(runs, dataset, tmp_path):
    out, _ = dataset  # built on two processes (two work dirs: two tasks in parallel)
    config = DatasetConfig(min_speedup=1.0, kind_ratio=1000, jobs=1)
    build_dataset([runs / "llm", runs / "es"], tmp_path, config)
    written = sorted(p.name for p in out.glob("*.jsonl"))
    assert "samples.jsonl" in written and "workloads.jsonl" in written and len(written) == 8
    for name in written:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    first, second = (json.loads((d / "card.json").read_text()) for d in (out, tmp_path))
    for card in (first, second):
        card.pop("seconds"), card.pop("command")
    assert first == second
