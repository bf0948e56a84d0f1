"""Measuring on other machines: LLMGuidedSearch with MetaSchedule's RPCRunner through a tracker.

A real tracker and server on 127.0.0.1 stand in for a device farm; the records they measure load
back and compile.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tvm_llm_sched.cli import app


@pytest.fixture(scope="module")
def tracker():
    from tvm.rpc.server import Server
    from tvm.rpc.tracker import Tracker

    tracker = Tracker(host="127.0.0.1", port=9190, port_end=9290, silent=True)
    server = Server(
        host="127.0.0.1",
        port=9300,
        port_end=9400,
        tracker_addr=(tracker.host, tracker.port),
        key="test-cpu",
        silent=True,
    )
    yield f"{tracker.host}:{tracker.port}"
    server.terminate()
    tracker.terminate()


@pytest.mark.tuning
def test_llm_guided_search_measures_through_an_rpc_tracker(tracker, tmp_path):
    from tvm.s_tir import meta_schedule as ms

    from tvm_llm_sched.hardware import host_target
    from tvm_llm_sched.measure import latency_us
    from tvm_llm_sched.tune import rpc_runner, tune_workload
    from tvm_llm_sched.verify import verify
    from tvm_llm_sched.workloads import load_workload

    work = tmp_path / "work"
    result = tune_workload(
        "GMM:0",
        trials=8,
        num_trials_per_iter=4,
        work_dir=work,
        progress=False,
        seed=1,
        runner=rpc_runner(tracker, "test-cpu", session_timeout_s=120),
    )
    assert result.trials == 8 and result.max_abs_err < 1e-3
    database = ms.database.JSONDatabase(work_dir=str(work))  # reopened from disk
    records = database.get_all_tuning_records()
    assert len(records) == 8 and all(latency_us(r) is not None for r in records)
    sch = ms.tir_integration.compile_tir(database, load_workload("GMM:0").mod, host_target())
    assert sch is not None and verify(load_workload("GMM:0").mod, sch, host_target()).ok


def test_the_rpc_flags_go_together():
    out = CliRunner().invoke(app, ["tune", "-w", "GMM:0", "--rpc-tracker", "127.0.0.1:9190"])
    assert out.exit_code == 2 and "--rpc-key" in out.output


def test_a_malformed_tracker_address_is_a_clear_error():
    from tvm_llm_sched.tune import rpc_runner

    with pytest.raises(ValueError, match="host:port"):
        rpc_runner("localhost", "k")
