"""Measurement record/replay on real TVM: the store, the recording and the replaying measurer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from tvm.s_tir.meta_schedule.arg_info import ArgInfo
from tvm.s_tir.meta_schedule.builder import BuilderInput
from tvm.s_tir.meta_schedule.runner import RunnerInput

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.measure import (
    Measurement,
    MeasurementStore,
    module_key,
    recording_measurer,
    replaying_measurer,
)
from tvm_llm_sched.tvm_compat import local_builder
from tvm_llm_sched.workloads import load_workload


@pytest.fixture(scope="module")
def gmm():
    return load_workload("GMM:0").mod


def _measure(measurer, mod):
    """Build and run ``mod`` once through ``measurer``; (builder result, runner result)."""
    target = host_target()
    built = measurer.builder.build([BuilderInput(mod, target)])[0]
    if built.error_msg:
        return built, None
    args = ArgInfo.from_prim_func(mod["main"])
    future = measurer.runner.run([RunnerInput(built.artifact_path, "cpu", args)])[0]
    return built, future.result()


def test_store_round_trips_and_keeps_every_measurement_in_order(tmp_path):
    store = MeasurementStore(tmp_path)
    store.put(Measurement(key="a", run_secs=(1e-5, 2e-5)))
    store.put(Measurement(key="b", build_error="no llvm"))
    store.put(Measurement(key="a", run_secs=(3e-5,)))
    reopened = MeasurementStore(tmp_path)
    assert len(reopened) == 3
    assert reopened.get("a").run_secs == (3e-5,)
    assert [m.run_secs for m in reopened.history("a")] == [(1e-5, 2e-5), (3e-5,)]
    assert reopened.history("c") == ()
    assert reopened.get("b").build_error == "no llvm" and reopened.get("b").run_secs is None
    assert reopened.get("c") is None


def test_broken_lines_are_skipped_with_a_warning(tmp_path, caplog):
    store = MeasurementStore(tmp_path)
    store.put(Measurement(key="a", run_secs=(1e-5,)))
    with store.path.open("a") as handle:
        handle.write('{"format": 1, "key": "b", "run_secs": [1e-5, "fast"]}\n')
        handle.write("not json at all\n")
        handle.write('{"format": 1, "key": "c", "run_secs": [2e-5]')  # torn last line
    caplog.set_level(logging.WARNING, logger="tvm_llm_sched.measure")
    reopened = MeasurementStore(tmp_path)
    assert len(reopened) == 1 and reopened.get("a").run_secs == (1e-5,)
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 3
    assert any("line 2" in m and "run_secs" in m for m in skipped), skipped
    # Appending after a torn line still produces readable lines.
    reopened.put(Measurement(key="d", run_secs=(4e-5,)))
    assert MeasurementStore(tmp_path).get("d").run_secs == (4e-5,)


def test_module_key_is_structural(gmm):
    assert module_key(gmm) == module_key(load_workload("GMM:0").mod)
    assert module_key(gmm) != module_key(load_workload("GMM:1").mod)


@pytest.mark.tuning
def test_recorded_measurements_replay_without_building_or_running(gmm, tmp_path):
    store = MeasurementStore(tmp_path)
    built, measured = _measure(recording_measurer(local_builder(), "local", store), gmm)
    assert built.error_msg is None and measured.error_msg is None
    assert store.get(module_key(gmm)).run_secs == tuple(float(s) for s in measured.run_secs)

    replay = replaying_measurer(MeasurementStore(tmp_path))
    built_again, replayed = _measure(replay, gmm)
    # Nothing was compiled: the artifact is a name in an empty directory.
    artifact = Path(str(built_again.artifact_path))
    assert artifact.name == module_key(gmm) + ".0.replay" and not artifact.exists()
    assert [float(s) for s in replayed.run_secs] == [float(s) for s in measured.run_secs]
    assert (replay.counter.served, replay.misses) == (1, 0)


@pytest.mark.tuning
def test_a_program_measured_twice_replays_each_measurement_in_order(gmm, tmp_path):
    # Strategies may measure one program twice; each trial's record must get its own latency.
    store = MeasurementStore(tmp_path)
    recorder = recording_measurer(local_builder(), "local", store)
    measured = [_measure(recorder, gmm)[1].run_secs for _ in range(2)]
    assert [m.run_secs for m in MeasurementStore(tmp_path).history(module_key(gmm))] == [
        tuple(float(s) for s in secs) for secs in measured
    ]

    replay = replaying_measurer(MeasurementStore(tmp_path))
    replayed = [[float(s) for s in _measure(replay, gmm)[1].run_secs] for _ in range(3)]
    expected = [[float(s) for s in secs] for secs in measured]
    # A third request, beyond the recording, gets the last measurement again.
    assert replayed == [*expected, expected[-1]]
    assert (replay.counter.served, replay.misses) == (3, 0)


def test_a_replay_miss_fails_the_build_and_is_counted(gmm, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="tvm_llm_sched.measure")
    replay = replaying_measurer(MeasurementStore(tmp_path))
    built, measured = _measure(replay, gmm)
    assert measured is None and str(built.error_msg).startswith("replay miss: module ")
    assert replay.misses == 1
    assert any("replay miss" in r.getMessage() for r in caplog.records)


def test_a_recorded_build_failure_fails_again(gmm, tmp_path):
    store = MeasurementStore(tmp_path)
    store.put(Measurement(key=module_key(gmm), build_error="LLVM ERROR: out of registers"))
    built, measured = _measure(replaying_measurer(store), gmm)
    assert measured is None and str(built.error_msg) == "LLVM ERROR: out of registers"
