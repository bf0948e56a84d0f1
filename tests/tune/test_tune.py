"""``tune_workload`` and ``tvm-llm-sched tune`` on real TVM (tiny budgets)."""

from __future__ import annotations

import json
import logging
import os

import pytest
from tvm.s_tir import meta_schedule as ms
from typer.testing import CliRunner

from tvm_llm_sched.cli import app
from tvm_llm_sched.errors import VerificationError
from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.search.strategies import make_strategy
from tvm_llm_sched.tune import TuneResult, best_verified, tune_workload
from tvm_llm_sched.verify import VerifyReport
from tvm_llm_sched.workloads import load_workload

pytestmark = pytest.mark.tuning


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("gmm0")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TVM_NUM_THREADS", raising=False)
        result = tune_workload(
            "GMM:0", trials=8, num_trials_per_iter=8, work_dir=work_dir, seed=3, progress=False
        )
        threads = os.environ.get("TVM_NUM_THREADS")
    return result, work_dir, threads


def test_tune_workload_returns_a_verified_summary(tuned):
    result, work_dir, threads = tuned
    # Runner processes time parallel loops on every core of the target.
    assert threads == str(host_target().attrs["num-cores"])
    assert result.workload == "GMM:0" and result.strategy == "llm"
    assert result.trials == 8
    assert 0 < result.best_latency_us < result.unscheduled_latency_us
    assert result.speedup > 1 and result.gflops > 0
    assert result.max_abs_err < 1e-3 and result.rejected_as_wrong == 0
    text = result.summary()
    assert "best latency" in text and "speedup" in text and str(work_dir) in text


def test_tvm_alone_compiles_the_best_schedule_from_the_work_dir(tuned):
    _, work_dir, _ = tuned
    workload = load_workload("GMM:0")
    database = ms.database.JSONDatabase(work_dir=str(work_dir))
    sch = ms.tir_integration.compile_tir(database, workload.mod, host_target())
    assert sch is not None and sch.trace is not None


def test_wrong_fastest_schedule_is_never_returned(tuned, caplog):
    _, work_dir, _ = tuned
    workload = load_workload("GMM:0")
    database = ms.database.JSONDatabase(work_dir=str(work_dir))
    calls = []

    def check(sch):
        calls.append(sch)
        ok = len(calls) > 1  # pretend the fastest schedule computes garbage
        return VerifyReport(
            ok=ok,
            max_abs_err=0.0 if ok else 3.0,
            max_rel_err=0.0,
            seeds=(0,),
            message="ok" if ok else "max abs error 3.0",
        )

    with caplog.at_level(logging.ERROR, logger="tvm_llm_sched.tune"):
        record, latency_us, report, wrong = best_verified(
            database, workload, host_target(), check=check
        )
    top = database.get_top_k(database.commit_workload(workload.mod), 2)
    assert wrong == 1 and report.ok
    assert str(record.trace) == str(top[1].trace)
    assert "WRONG RESULT" in caplog.text


def test_no_verified_schedule_raises(tuned):
    _, work_dir, _ = tuned
    database = ms.database.JSONDatabase(work_dir=str(work_dir))

    def never(sch):
        return VerifyReport(ok=False, max_abs_err=1.0, max_rel_err=1.0, seeds=(0,), message="bad")

    with pytest.raises(VerificationError, match="verified"):
        best_verified(database, load_workload("GMM:0"), host_target(), top_k=2, check=never)


def test_confirmation_returns_the_program_fastest_when_re_timed_not_the_luckiest_record(
    tuned, tmp_path
):
    import tvm
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo

    from tvm_llm_sched.tune import confirm_fastest, fastest_verified

    _, work_dir, _ = tuned
    workload = load_workload("GMM:0")
    target = host_target()
    tuned_db = ms.database.JSONDatabase(work_dir=str(work_dir))
    best = tuned_db.get_top_k(tuned_db.commit_workload(workload.mod), 1)[0]
    database = ms.database.JSONDatabase(work_dir=str(tmp_path))
    committed = database.commit_workload(workload.mod)
    args_info = ArgInfo.from_prim_func(workload.mod["main"])
    # The program as written (one thread, no vectors) with a lucky 1 ns measurement, ahead of the
    # tuned program measured as it was: the database ranks the slow one first. (Its trace looks a
    # block up: get_top_k leaves out records with an empty trace.)
    naive = tvm.s_tir.Schedule(workload.mod)
    naive.get_sblock("Z")
    for trace, run_secs in [(naive.trace, [1e-9]), (best.trace, best.run_secs)]:
        database.commit_tuning_record(
            ms.database.TuningRecord(trace, committed, run_secs, target, args_info)
        )
    verified, wrong = fastest_verified(database, workload, target, want=4)
    assert wrong == 0 and len(verified) == 2 and verified[0][1] == pytest.approx(1e-3)
    confirmed = confirm_fastest(
        [record.as_measure_candidate().sch for record, _, _ in verified],
        [latency for _, latency, _ in verified],
        target,
        rounds=2,
    )
    assert confirmed.rank == 1 and confirmed.candidates == 2 and confirmed.rounds == 2
    assert confirmed.fastest_us <= confirmed.median_us <= confirmed.slowest_us
    assert confirmed.median_us < confirmed.first_median_us  # the tuned one really is faster
    assert confirmed.recorded_us == pytest.approx(verified[1][1])
    with pytest.raises(ValueError, match="one recorded latency per schedule"):
        confirm_fastest([], [], target)
    summary = TuneResult(
        workload="GMM:0",
        strategy="llm",
        trials=2,
        best_latency_us=confirmed.median_us,
        gflops=1.0,
        unscheduled_latency_us=confirmed.first_median_us,
        max_abs_err=0.0,
        rejected_as_wrong=0,
        work_dir=str(tmp_path),
        wall_s=1.0,
        schedule=None,
        confirmation=confirmed,
    ).summary()
    assert "record 2 by recorded latency; the database's best re-timed at" in summary


def test_cli_tune_json_and_resume(tmp_path):
    runner = CliRunner()
    args = [
        "tune",
        "-w",
        "GMM:0",
        "-n",
        "4",
        "--num-trials-per-iter",
        "4",
        "--work-dir",
        str(tmp_path),
        "--seed",
        "1",
        "--json",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output[first.output.index("{") :])
    assert summary["trials"] == 4 and summary["speedup"] > 1
    # By default the command re-times its few fastest verified records and reports the median.
    confirmed = summary["confirmation"]
    assert confirmed["rounds"] == 3 and 1 <= confirmed["candidates"] <= 4
    assert summary["best_latency_us"] == pytest.approx(confirmed["median_us"])
    second = runner.invoke(app, args)  # same work dir: resumes, adds 4 new trials
    assert second.exit_code == 0, second.output
    assert json.loads(second.output[second.output.index("{") :])["trials"] == 8


@pytest.mark.parametrize(
    "args, message",
    [(["-w", "NOPE:0"], "unknown workload"), (["-w", "GMM:0", "-s", "magic"], "unknown strategy")],
)
def test_cli_tune_bad_input_exits_2(args, message, tmp_path):
    result = CliRunner().invoke(app, ["tune", *args, "--work-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output


def test_make_strategy():
    """One registry: our name, TVM's names and ``module:callable`` all give strategy objects."""
    from tvm.s_tir.meta_schedule.search_strategy import EvolutionarySearch, SearchStrategy

    from tvm_llm_sched.search import LLMGuidedSearch

    assert isinstance(make_strategy("evolutionary"), EvolutionarySearch)
    assert isinstance(make_strategy("llm", proposer="expert", seed=3), LLMGuidedSearch)
    custom = make_strategy("tvm_llm_sched.search:LLMGuidedSearch")
    assert isinstance(custom, LLMGuidedSearch) and isinstance(custom, SearchStrategy)
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("magic")
