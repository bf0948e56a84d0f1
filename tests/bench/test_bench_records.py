"""Pure parts of the benchmark harness, on constructed data: curves, CSV, report, store."""

from __future__ import annotations

import csv
import json
import math

import pytest

from tvm_llm_sched.bench import (
    BenchConfig,
    BenchResults,
    IterationRecord,
    References,
    RunRecord,
    TrialRecord,
    read_at_budget,
    render_report,
    summary_rows,
    write_csv,
    write_section,
)
from tvm_llm_sched.bench.plots import curve_by_trials, curve_by_wall, plot_all
from tvm_llm_sched.bench.store import BenchStore
from tvm_llm_sched.search.strategies import StrategySpec, parse_strategies


def make_run(
    latencies,
    *,
    per_iter=2,
    strategy="replay-trace",
    seed=0,
    workload="GMM:0",
    wall=10.0,
    sources=None,
):
    """A run whose iteration k ends at wall * (k + 1) seconds, with 1 s of each phase."""
    iterations, best = [], math.inf
    for k in range(0, len(latencies), per_iter):
        trials = []
        for i, lat in enumerate(latencies[k : k + per_iter]):
            best = min(best, lat)
            trials.append(
                TrialRecord(
                    index=k + i,
                    latency_us=lat,
                    best_us=best,
                    elapsed_s=wall * (k // per_iter + 1),
                    iteration=k // per_iter,
                    error=None if math.isfinite(lat) else "build: boom",
                    source=sources[k + i] if sources else None,
                )
            )
        iterations.append(
            IterationRecord(
                index=k // per_iter,
                wall_s=wall,
                elapsed_s=wall * (k // per_iter + 1),
                num_candidates=len(trials),
                trials=trials,
                search_s=1.0,
                build_s=2.0,
                run_s=3.0,
                update_s=0.5,
            )
        )
    return RunRecord(
        run_id=f"{workload}_{strategy}_{seed}",
        workload=workload,
        strategy=strategy,
        strategy_spec=strategy,
        seed=seed,
        max_trials=len(latencies),
        num_trials_per_iter=per_iter,
        target="llvm",
        flops=2e6,
        wall_s=iterations[-1].elapsed_s,
        iterations=iterations,
    )


REF = References(
    workload="GMM:0",
    flops=2e6,
    unscheduled_us=1000.0,
    numpy_us=20.0,
    peak_gflops=200.0,
    peak_formula="x = 200 GFLOP/s",
    cpu="cpu=test",
    target="llvm",
)


def test_read_at_budget_takes_best_so_far_and_sums_shares():
    run = make_run([50.0, math.inf, 40.0, 45.0, 10.0, 30.0])
    point = read_at_budget(run, 4)
    assert point.trials == 4 and point.best_us == 40.0 and point.failed == 1
    assert point.elapsed_s == 20.0  # end of the second iteration
    assert point.search_s == pytest.approx(2.0) and point.run_s == pytest.approx(6.0)
    assert read_at_budget(run, 3).elapsed_s == 20.0  # trial 3 finishes with its iteration
    assert read_at_budget(run, 6).best_us == 10.0
    early = read_at_budget(run, 100)  # the strategy stopped after 6 trials
    assert early.trials == 6 and early.best_us == 10.0
    with pytest.raises(ValueError):
        read_at_budget(run, 0)


def test_time_to_within_5_percent_of_the_best_and_sources():
    run = make_run(
        [100.0, 80.0, 41.0, 60.0, 40.0, 90.0],
        sources=["sampling", "proposer", "proposer", "mutation", "mutation", "sampling"],
    )
    point = read_at_budget(run, 6)
    assert point.time_to_5pct_s == 20.0  # 41 us (second iteration) is within 5 % of 40 us
    assert read_at_budget(run, 2).time_to_5pct_s == 10.0
    assert point.sources == {"sampling": 2, "proposer": 2, "mutation": 2}
    assert point.source_share("proposer") == pytest.approx(100 / 3)
    assert read_at_budget(make_run([5.0, 6.0]), 2).source_share("proposer") is None
    assert math.isnan(read_at_budget(make_run([math.inf, math.inf]), 2).time_to_5pct_s)
    row = summary_rows([run], {}, [6])[0]
    assert row["time_to_5pct_s"] == 20.0 and row["pct_from_mutation"] == pytest.approx(33.3)
    assert summary_rows([make_run([5.0, 6.0])], {}, [2])[0]["pct_from_proposer"] == ""


def test_sources_survive_json():
    run = make_run([3.0, 2.0], sources=["proposer", "sampling"])
    back = RunRecord.from_json(json.loads(json.dumps(run.to_json())))
    assert [t.source for t in back.trials] == ["proposer", "sampling"]
    old = run.to_json()
    for trial in old["iterations"][0]["trials"]:
        del trial["source"]  # a run recorded before sources existed still loads
    assert RunRecord.from_json(old).trials[0].source is None


def test_all_failed_prefix_is_inf():
    run = make_run([math.inf, math.inf, 5.0, 6.0])
    assert read_at_budget(run, 2).best_us == math.inf
    assert read_at_budget(run, 4).best_us == 5.0


def test_json_round_trip_keeps_inf_and_errors():
    run = make_run([math.inf, 7.0])
    data = json.loads(json.dumps(run.to_json(), allow_nan=False))  # strict JSON: no Infinity
    assert data["iterations"][0]["trials"][0]["latency_us"] is None
    back = RunRecord.from_json(data)
    assert back.trials[0].latency_us == math.inf and back.trials[0].error == "build: boom"
    assert back.trials[1].best_us == 7.0
    assert References.from_json(json.loads(json.dumps(REF.to_json()))) == REF


def test_summary_rows_and_csv(tmp_path):
    runs = [
        make_run([100.0, 50.0, 20.0, 25.0]),
        make_run([80.0, 90.0, 60.0, 40.0], strategy="evolutionary"),
    ]
    rows = summary_rows(runs, {"GMM:0": REF}, [2, 4])
    assert [(r["strategy"], r["budget"]) for r in rows] == [
        ("replay-trace", 2),
        ("replay-trace", 4),
        ("evolutionary", 2),
        ("evolutionary", 4),
    ]
    row = rows[1]
    assert row["best_latency_us"] == 20.0
    assert row["gflops"] == pytest.approx(100.0)  # 2e6 flop in 20 us
    assert row["pct_of_peak"] == pytest.approx(50.0)
    assert row["speedup_vs_unscheduled"] == pytest.approx(50.0)
    path = tmp_path / "summary.csv"
    write_csv(path, rows)
    with path.open() as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == 4 and read[3]["best_latency_us"] == "40.0" and read[0]["wall_s"] == "10.0"


def test_separate_budget_runs_are_read_at_their_own_budget():
    short, long = make_run([9.0, 8.0]), make_run([30.0, 20.0, 1.0, 1.0])
    rows = summary_rows([long, short], {}, [2, 4])
    assert [r["best_latency_us"] for r in rows] == [8.0, 1.0]


def test_report_tables_and_section_replacement(tmp_path):
    results = BenchResults(
        runs=[make_run([100.0, 50.0, 20.0, 25.0], seed=s) for s in (0, 1)]
        + [make_run([60.0] * 4, strategy="evo")],
        references={"GMM:0": REF},
    )
    text = render_report(
        results, [2, 4], command="tvm-llm-sched bench --workloads GMM:0", out_dir="out"
    )
    assert text.startswith("## Tuning curves")
    assert "### 2 trials" in text and "### 4 trials" in text and "x = 200 GFLOP/s" in text
    assert "| GMM:0 | replay-trace | 2 | 20.0 [20.0-20.0] |" in text  # two seeds: median [min-max]
    assert "| GMM:0 | evo | 1 | 60.0 |" in text
    assert "To 5 % (s)" in text and "Proposer / mutation / sampling" in text
    assert "against the other strategies" not in text  # no search of ours in this matrix
    ours = BenchResults(
        runs=[make_run([30.0] * 4, strategy="llm"), make_run([60.0] * 4, strategy="evo")],
        references={"GMM:0": REF},
    )
    compared = render_report(ours, [4], command="c", out_dir="out")
    assert "### llm against the other strategies at 4 trials" in compared
    assert "**2.00x**" in compared
    assert "`tvm-llm-sched bench --workloads GMM:0`" in text
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(
        "# Benchmarks\n\n## Hashing\n\nkeep me\n\n"
        "## Tuning curves\n\nSTALE-TABLE\n\n## Other\n\nalso\n"
    )
    write_section(path, text)
    written = path.read_text()
    assert "keep me" in written and "also" in written and "STALE-TABLE" not in written
    assert written.count("## Tuning curves") == 1
    fresh = tmp_path / "NEW.md"
    write_section(fresh, text)
    assert fresh.read_text().startswith("# Benchmarks\n\n## Tuning curves")


def test_curves_and_plots(tmp_path):
    runs = [
        make_run([100.0, 50.0, 20.0, 25.0], seed=0),
        make_run([90.0, 95.0, 60.0, 10.0, 9.0, 8.0], seed=1, wall=7.0),
    ]
    x, rows = curve_by_trials(runs)
    assert list(x) == [1, 2, 3, 4, 5, 6] and math.isnan(rows[0, 5]) and rows[1, 5] == 8.0
    grid, wall_rows = curve_by_wall(runs)
    assert list(grid) == [7.0, 10.0, 14.0, 20.0, 21.0]
    assert math.isnan(wall_rows[0, 0]) and wall_rows[0, 1] == 50.0 and wall_rows[1, 4] == 8.0
    assert math.isnan(wall_rows[0, 4])  # run 0 ended at 20 s
    paths = plot_all(runs, {"GMM:0": REF}, 4, tmp_path)
    assert [p.name for p in paths] == ["GMM_0.png", "summary.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_strategy_specs():
    assert StrategySpec("tvm_llm_sched.bench.records:TrialRecord").label == "TrialRecord"
    with pytest.raises(ValueError, match="unknown strategy"):
        parse_strategies(["evolutionnary"])
    with pytest.raises(ValueError, match="cannot import"):
        parse_strategies(["no_such_module_xyz:Factory"])
    with pytest.raises(ValueError, match="unique"):
        parse_strategies(["replay-trace", "replay-trace"])


def test_ablation_variants_and_their_cost_models():
    from tvm.s_tir.meta_schedule.cost_model import XGBModel
    from tvm.s_tir.meta_schedule.search_strategy import EvolutionarySearch

    from tvm_llm_sched.proposers.random import RandomProposer
    from tvm_llm_sched.search import LLMGuidedSearch
    from tvm_llm_sched.search.strategies import make_strategy

    random_search = make_strategy("llm-random", seed=3)
    assert isinstance(random_search, LLMGuidedSearch)
    assert isinstance(random_search._proposer_spec, RandomProposer)
    off = make_strategy("llm-no-proposer")
    assert off.config.proposer_calls_per_iter == 0 and off.config.first_proposer_calls == 0
    assert isinstance(make_strategy("evolutionary-no-warmup"), EvolutionarySearch)
    model = StrategySpec("evolutionary-no-warmup").cost_model(num_cores=2)
    assert isinstance(model, XGBModel) and model.num_warmup_samples == 0
    assert StrategySpec("evolutionary").cost_model(num_cores=2) == "xgb"
    assert StrategySpec("llm").cost_model(num_cores=2) == "xgb"


def test_config_validation(tmp_path):
    config = BenchConfig(
        workloads=("GMM:0",), strategies=("replay-trace",), budgets=(64, 16, 32), out_dir=tmp_path
    )
    assert config.budgets == (16, 32, 64) and config.run_budgets == (64,)
    with pytest.raises(ValueError):
        BenchConfig(
            workloads=("GMM:0",), strategies=("replay-trace",), budgets=(0,), out_dir=tmp_path
        )
    with pytest.raises(ValueError):
        BenchConfig(workloads=(), strategies=("replay-trace",), budgets=(4,), out_dir=tmp_path)


def test_store_attempts_and_lock(tmp_path):
    store = BenchStore(tmp_path)
    assert store.begin_attempt("r", {}) == 1
    store.append_iteration("r", make_run([1.0, 2.0]).iterations[0])
    assert store.begin_attempt("r", {}) == 2  # the interrupted attempt is kept, not resumed
    kept = (tmp_path / "runs" / "r.attempt1.jsonl").read_text().splitlines()
    assert len(kept) == 2 and json.loads(kept[1])["num_candidates"] == 2
    (tmp_path / ".lock").write_text("999999999")  # a dead process: stale lock
    with store.lock():
        assert (tmp_path / ".lock").exists()
    assert not (tmp_path / ".lock").exists()


def test_recorder_splits_iterations_and_keeps_failures():
    from types import SimpleNamespace as NS

    from tvm_llm_sched.bench.timing import Recorder

    seen = []
    rec = Recorder(on_iteration=seen.append)
    rec.start()
    rec.add("search", 1.0)  # pre_tuning + generate
    rec.add("build", 2.0)
    ok = NS(error_msg=None)
    rec.set_sources(["proposer", "mutation", "sampling"])
    rec.end_iteration(
        [ok, NS(error_msg="boom"), ok],
        [
            NS(error_msg=None, run_secs=[1e-4, 3e-4]),
            NS(error_msg=None, run_secs=None),
            NS(error_msg="timeout", run_secs=None),
        ],
    )
    rec.add("run", 4.0)
    rec.end_iteration([ok], [NS(error_msg=None, run_secs=[1e-5])])
    rec.add("search", 0.5)  # post_tuning: folded into the last iteration
    rec.finish()
    assert len(seen) == 2
    first, second = rec.iterations
    assert [t.latency_us for t in first.trials][0] == pytest.approx(200.0)
    assert [t.error for t in first.trials][1:] == ["build: boom", "run: timeout"]
    assert [t.source for t in first.trials] == ["proposer", "mutation", "sampling"]
    assert second.trials[0].source is None  # sources are per iteration: none said, none kept
    assert [t.best_us for t in first.trials + second.trials] == pytest.approx(
        [200.0, 200.0, 200.0, 10.0]
    )
    assert first.trials[0].build_s == pytest.approx(2.0 / 3) and first.search_s == 1.0
    assert second.search_s == 0.5 and second.trials[0].search_s == 0.5  # shares updated by finish()
    assert sum(t.wall_s for t in first.trials + second.trials) == pytest.approx(second.elapsed_s)


def test_cli_report_only_and_bad_input(tmp_path):
    from typer.testing import CliRunner

    from tvm_llm_sched.cli import app

    store = BenchStore(tmp_path)
    run = make_run([100.0, 50.0, 20.0, 25.0])
    run.command = "tvm-llm-sched bench --workloads GMM:0"
    store.save_run(run)
    store.save_references("GMM_0", REF)
    report = tmp_path / "B.md"
    cli = CliRunner()
    args = [
        "bench",
        "--out",
        str(tmp_path),
        "--trials",
        "2,4",
        "--report-only",
        "--report",
        str(report),
        "--note",
        "shared machine",
    ]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "`tvm-llm-sched bench --workloads GMM:0`" in report.read_text()  # the tuning command
    assert "- Note: shared machine" in report.read_text()
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "plots" / "GMM_0.png").exists()
    empty = tmp_path / "empty"
    assert cli.invoke(app, ["bench", "--out", str(empty), "--report-only"]).exit_code == 1
    bad = [
        ["--workloads", "GMM:0", "--strategies", "nope"],
        ["--workloads", "NOPE:0"],
        ["--workloads", "GMM:0", "--trials", "0"],
        ["--workloads", "GMM:0", "--builder", "remote"],
    ]
    for extra in bad:
        result = cli.invoke(app, ["bench", "--out", str(empty), *extra])
        assert result.exit_code == 2 and "error:" in result.output, (extra, result.output)
    assert cli.invoke(app, ["bench", "--workloads", "GMM:0", "--trials", "x"]).exit_code == 2


def test_published_sections_name_their_command_and_commit(tmp_path, capsys):
    from tvm_llm_sched.bench.report import publish_section

    path = tmp_path / "BENCH.md"
    text = publish_section(
        ["## Floors", "", "| a |"], "python/x.py", ["--n", "3"], "## Floors", path
    )
    assert "Command: `python python/x.py --n 3` at commit " in text
    commit = text.rsplit("at commit ", 1)[1].strip()
    assert commit == "unknown" or len(commit.split("+")[0]) >= 7
    assert path.read_text().count("## Floors") == 1
