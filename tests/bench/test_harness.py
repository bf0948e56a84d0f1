"""The harness end to end on a tiny real matrix: outputs, consistency, resume."""

from __future__ import annotations

import csv
import json
import math
import re
import sys

import pytest

from tvm_llm_sched.bench import BenchConfig, load_results, run_matrix, write_outputs

pytestmark = pytest.mark.tuning


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    config = BenchConfig(
        workloads=("GMM:0",),
        strategies=("evolutionary", "replay-trace"),
        budgets=(2, 4),
        num_trials_per_iter=4,
        out_dir=out,
        command="pytest",
    )
    results = run_matrix(config, progress=False)
    paths = write_outputs(results, config.budgets, out, report=out / "BENCH.md", command="pytest")
    return config, results, paths


def test_runs_are_complete_and_consistent(bench):
    _, results, _ = bench
    assert [run.strategy for run in results.runs] == ["evolutionary", "replay-trace"]
    for run in results.runs:
        trials = run.trials
        assert [t.index for t in trials] == list(range(4)) and run.max_trials == 4
        assert sum(1 for t in trials if math.isfinite(t.latency_us)) >= 1, [t.error for t in trials]
        for t in trials:
            assert math.isfinite(t.latency_us) or t.error  # failures are kept, with their reason
        best = [t.best_us for t in trials]
        assert best == sorted(best, reverse=True)  # best-so-far never gets worse
        assert best[-1] == min(t.latency_us for t in trials)
        elapsed = [t.elapsed_s for t in trials]
        assert elapsed == sorted(elapsed) and elapsed[-1] == pytest.approx(run.wall_s)
        # The phases we time account for the wall time, up to task-scheduler glue and setup.
        phases = sum(t.search_s + t.build_s + t.run_s + t.update_s for t in trials)
        wall = sum(t.wall_s for t in trials)
        assert wall == pytest.approx(run.wall_s)
        assert 0.8 * wall <= phases <= wall + 1e-6, (phases, wall)
        assert all(t.build_s > 0 and t.run_s > 0 and t.search_s > 0 for t in trials)


def test_outputs_exist_and_agree(bench):
    config, results, paths = bench
    combined = json.loads(paths["json"].read_text())
    assert len(combined["runs"]) == 2 and set(combined["references"]) == {"GMM:0"}
    ref = results.references["GMM:0"]
    assert math.isfinite(ref.unscheduled_us) and ref.numpy_us > 0 and ref.peak_gflops > 0
    assert "GFLOP/s" in ref.peak_formula
    for run in results.runs:
        assert (config.out_dir / "runs" / f"{run.run_id}.json").exists()
    with paths["csv"].open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["strategy"], r["budget"]) for r in rows] == [
        ("evolutionary", "2"),
        ("evolutionary", "4"),
        ("replay-trace", "2"),
        ("replay-trace", "4"),
    ]
    for row, run in zip(rows[1::2], results.runs, strict=True):
        assert float(row["best_latency_us"]) == pytest.approx(run.trials[-1].best_us, rel=1e-3)
        assert float(row["speedup_vs_unscheduled"]) > 0
    pngs = sorted(p.name for p in paths["plots"].glob("*.png"))
    assert pngs == ["GMM_0.png", "summary.png"]
    report = paths["report"].read_text()
    assert (
        report.startswith("# Benchmarks")
        and "## Tuning curves" in report
        and "### 4 trials" in report
    )


def test_second_invocation_resumes(bench):
    config, results, _ = bench
    before = {p.name: p.stat().st_mtime_ns for p in (config.out_dir / "runs").glob("*.json")}
    again = run_matrix(config, progress=False)  # would take minutes if it tuned again
    after = {p.name: p.stat().st_mtime_ns for p in (config.out_dir / "runs").glob("*.json")}
    assert before == after
    assert [run.to_json() for run in again.runs] == [run.to_json() for run in results.runs]
    assert len(load_results(config.out_dir).runs) == 2


def test_best_programs_are_rebuilt_and_retimed(bench):
    from tvm_llm_sched.bench.retime import best_program, retime_interleaved
    from tvm_llm_sched.bench.store import BenchStore
    from tvm_llm_sched.hardware import resolve_target
    from tvm_llm_sched.verify import verify
    from tvm_llm_sched.workloads import load_workload

    config, results, _ = bench
    store = BenchStore(config.out_dir)
    workload = load_workload("GMM:0")
    target = resolve_target(results.runs[0].target)
    programs = {}
    for run in [r for r in results.runs if r.max_trials == 4]:
        best = best_program(store.work_dir(run.run_id), workload.mod)
        # The database's best is the run's best trial, and it still computes the workload.
        assert best.recorded_us == pytest.approx(min(t.latency_us for t in run.trials), rel=1e-6)
        assert verify(workload.mod, best.mod, target, seeds=(0,)).ok
        programs[run.run_id] = best.mod
    times = retime_interleaved(programs, target, rounds=2)
    assert set(times) == set(programs)
    assert all(len(v) == 2 and all(0 < t < math.inf for t in v) for v in times.values())


def test_retime_script_pools_directories_and_shows_each_programs_spread(
    bench, tmp_path, capsys, monkeypatch
):
    import importlib.util
    import shutil
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "python" / "bench_retime.py"
    spec = importlib.util.spec_from_file_location("bench_retime", script)
    bench_retime = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_retime", bench_retime)  # its dataclass looks it up
    spec.loader.exec_module(bench_retime)
    config, _, _ = bench
    later = tmp_path / "later"  # the same runs again, as if more seeds had gone to another dir
    shutil.copytree(config.out_dir, later)
    common = ["--out", str(config.out_dir), "--out", str(later), "--budget", "4", "--rounds", "2"]

    report = tmp_path / "B.md"
    bench_retime.main(
        [*common, "--pool", "--workloads", "GMM:0", "--write-benchmarks", str(report)]
    )
    rows = [line for line in report.read_text().splitlines() if line.startswith("| GMM:0 |")]
    assert sorted(row.split(" | ")[1] for row in rows) == ["evolutionary", "replay-trace"]
    for row in rows:  # two pooled runs per strategy, each "median (fastest-slowest)"
        per_seed = row.split(" | ")[4]
        assert re.fullmatch(r"[\d.]+ \(\d+-\d+\), [\d.]+ \(\d+-\d+\)", per_seed), row

    bench_retime.main(common)  # not pooled: each directory's runs keep their own label
    labels = {
        line.split(" | ")[1]
        for line in capsys.readouterr().out.splitlines()[-40:]
        if line.startswith("| GMM:0 |")
    }
    assert f"evolutionary [{later.name}]" in labels

    with pytest.raises(SystemExit):  # a filter that leaves nothing is a usage error
        bench_retime.main([*common, "--workloads", "C1D:0"])


def test_best_program_of_an_empty_database_is_an_error(tmp_path):
    from tvm_llm_sched.bench.retime import best_program
    from tvm_llm_sched.workloads import load_workload

    with pytest.raises(ValueError, match="no measured tuning record"):
        best_program(tmp_path, load_workload("GMM:0").mod)


def test_ablation_variants_tune_and_say_where_candidates_came_from(tmp_path):
    config = BenchConfig(
        workloads=("GMM:0",),
        strategies=("llm", "llm-no-proposer", "evolutionary-no-warmup"),
        budgets=(4,),
        num_trials_per_iter=4,
        out_dir=tmp_path,
    )
    results = run_matrix(config, progress=False)
    by_strategy = {run.strategy: run for run in results.runs}
    for run in results.runs:
        assert any(math.isfinite(t.latency_us) for t in run.trials), run.strategy
    sources = {name: [t.source for t in by_strategy[name].trials] for name in by_strategy}
    assert None not in sources["llm"] and "proposer" in sources["llm"]
    assert None not in sources["llm-no-proposer"]
    assert "proposer" not in sources["llm-no-proposer"]  # the switch really turns it off
    assert set(sources["evolutionary-no-warmup"]) == {None}  # TVM's strategies do not say


def test_prior_fit_scores_every_measured_record_of_the_runs(bench, tmp_path):
    import shutil

    from tvm_llm_sched.bench.prior_fit import fit, report, scored_records
    from tvm_llm_sched.bench.store import BenchStore

    config, results, _ = bench
    store = BenchStore(config.out_dir)
    records = []
    for run in results.runs:
        label, scored, skipped = scored_records(str(store.work_dir(run.run_id)), None)
        assert (label, skipped) == ("GMM_0", 0)
        # One scored record per measured trial, with the latency the run recorded.
        measured = sorted(t.latency_us for t in run.trials if math.isfinite(t.latency_us))
        assert sorted(lat for lat, _ in scored) == pytest.approx(measured, rel=1e-6)
        assert all(0 < score <= 1 for _, score in scored)
        records += scored
    result = fit(records)
    assert result.records == len(records)
    assert -1 <= result.spearman <= 1 or math.isnan(result.spearman)
    assert result.top_over_best >= 1 and 0 < result.fastest_rank <= 1
    assert "| GMM_0 |" in report({"GMM_0": result})
    with pytest.raises(ValueError, match="at least two"):
        fit(records[:1])
    # A torn last line (a run killed mid-write) is counted, and every other record still scored.
    original = store.work_dir(results.runs[0].run_id)
    torn = tmp_path / "GMM_0__torn"
    shutil.copytree(original, torn)
    with open(torn / "database_tuning_record.json", "a") as f:
        f.write('[0, [[["GetSBlock", [], ["main"')
    _, scored, skipped = scored_records(str(torn), None)
    assert skipped == 1
    assert scored == scored_records(str(original), None)[1]


def test_prior_fit_report_averages_over_workloads():
    from tvm_llm_sched.bench.prior_fit import Fit, report

    fits = {
        "A": Fit(10, 0.5, 2.0, 0.1),
        "B": Fit(20, float("nan"), 8.0, 0.2),
        "C": Fit(5, 0.1, 1.0, 0.6),
    }
    mean_row = report(fits).splitlines()[-1]
    # Records summed, the nan correlation left out, the latency ratio geometric, the rank a mean.
    assert mean_row == "| mean | 35 | +0.30 | 2.52 | 0.30 |"
