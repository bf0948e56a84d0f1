"""A whole tuning run recorded against an LLM endpoint replays without the model or the machine.

The recorded run talks to the project's policy server over real HTTP (the expert policy behind an
OpenAI-compatible endpoint) and really builds and measures. The replay gets neither: the server is
gone, the endpoint variables point at a closed port, and nothing is compiled or timed. It must still
take exactly the same path: the same prompts (so no chat replay miss), the same candidates in the
same order, the same tuning records, byte for byte.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tvm_llm_sched.cli import app
from tvm_llm_sched.llm import RecordingStore
from tvm_llm_sched.measure import MeasurementStore
from tvm_llm_sched.testing import free_port, policy_endpoint
from tvm_llm_sched.tune import RunManifest, tune_workload

pytestmark = pytest.mark.tuning

TRIALS, PER_ITER = 16, 8  # two iterations: the second one's prompts carry measured latencies


def _records(work_dir):
    return (work_dir / "database_tuning_record.json").read_text().splitlines()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("recorded")
    with policy_endpoint() as server:
        result = tune_workload(
            "GMM:0",
            trials=TRIALS,
            num_trials_per_iter=PER_ITER,
            work_dir=root / "work",
            record_to=root / "rec",
            progress=False,
        )
        requests = server.request_count
    return root, result, requests


@pytest.fixture()
def offline(monkeypatch):
    """Any attempt to reach a model now fails: the endpoint is a port nobody listens on."""
    monkeypatch.setenv("TVM_LLM_SCHED_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("TVM_LLM_SCHED_MODEL", "expert-policy")


def test_recording_holds_settings_measurements_and_exchanges(recorded):
    root, result, requests = recorded
    manifest = RunManifest.load(root / "rec")
    assert (manifest.workload, manifest.strategy, manifest.trials) == ("GMM:0", "llm", TRIALS)
    assert manifest.proposer == "openai" and isinstance(manifest.seed, int)
    assert manifest.target["mcpu"]
    assert requests > 0 and len(RecordingStore(root / "rec" / "chat")) > 0
    assert len(MeasurementStore(root / "rec")) == TRIALS
    assert result.replay_served is None


def test_replay_writes_the_same_records_without_model_or_measuring(recorded, offline, tmp_path):
    root, result, _ = recorded
    replayed = tune_workload(replay_from=root / "rec", work_dir=tmp_path / "replay", progress=False)
    assert (replayed.replay_served, replayed.replay_misses) == (TRIALS, 0)
    assert _records(tmp_path / "replay") == _records(root / "work")
    assert replayed.best_latency_us == result.best_latency_us
    assert "0 missed" in replayed.summary()


def test_cli_replays_a_recorded_run(recorded, offline, tmp_path):
    root, _, _ = recorded
    out = CliRunner().invoke(
        app,
        ["tune", "--replay", str(root / "rec"), "--work-dir", str(tmp_path / "w"), "--json"],
    )
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output[out.output.index("{") :])
    assert summary["replay_misses"] == 0 and summary["trials"] == TRIALS


def test_replay_refuses_a_work_dir_with_records(recorded):
    root, _, _ = recorded
    with pytest.raises(ValueError, match="without records"):
        tune_workload(replay_from=root / "rec", work_dir=root / "work", progress=False)


def test_replay_of_a_directory_without_a_recording_is_a_clear_error(tmp_path):
    from tvm_llm_sched.errors import DatabaseRecordError

    with pytest.raises(DatabaseRecordError, match="not a recorded tuning run"):
        tune_workload(replay_from=tmp_path, progress=False)


def test_expert_policy_run_replays_from_its_measurements(tmp_path, offline):
    """The default proposer (the expert policy) has no exchanges to record: the same policy
    answers the replay, and the recorded measurements keep it on the recorded path."""
    live = tune_workload(
        "C1D:0",
        trials=TRIALS,
        num_trials_per_iter=PER_ITER,
        proposer="expert",
        work_dir=tmp_path / "live",
        record_to=tmp_path / "rec",
        progress=False,
    )
    assert RunManifest.load(tmp_path / "rec").proposer == "expert"
    assert not (tmp_path / "rec" / "chat").exists()
    replayed = tune_workload(
        replay_from=tmp_path / "rec", work_dir=tmp_path / "replay", progress=False
    )
    assert replayed.replay_misses == 0
    assert _records(tmp_path / "replay") == _records(tmp_path / "live")
    assert replayed.best_latency_us == live.best_latency_us
