"""Re-time each tuning run's best program, interleaved, and time hand-written floor programs.

Reads a finished ``bench_tuning.py`` output directory. For every run at ``--budget`` trials it
rebuilds the best record's program, checks it numerically against the unscheduled workload, and
times all of them round-robin for ``--rounds`` rounds with MetaSchedule's runner settings. For
softmax (SFM) and whole-tensor reduction (NRM) workloads it also times the floor programs of
:mod:`tvm_llm_sched.bench.floors`.

    python python/bench_retime.py --out bench_out/issue6 --budget 64 --rounds 5 \\
        --write-benchmarks BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from tvm_llm_sched.bench import RunRecord, load_results
from tvm_llm_sched.bench.compare import speedup_summary
from tvm_llm_sched.bench.floors import exp_pass, full_reduction_schedules
from tvm_llm_sched.bench.report import publish_section
from tvm_llm_sched.bench.retime import best_program, retime_interleaved
from tvm_llm_sched.bench.store import BenchStore
from tvm_llm_sched.errors import WorkloadError
from tvm_llm_sched.hardware import resolve_target, use_target_cores
from tvm_llm_sched.measure.timing import arg_shapes
from tvm_llm_sched.verify import verify
from tvm_llm_sched.workloads import load_workload

SECTION = "## Re-timed best programs and floors"
UNSTABLE_SPREAD = 1.5  # slowest / fastest round beyond which a program's timing is called unstable


def _workload(name: str, work_dir: Path):
    """A te_workload by its name; a TVMScript workload (its run records only the file's stem) as
    its tuning database recorded the module."""
    try:
        return load_workload(name)
    except WorkloadError:
        from tvm.s_tir import meta_schedule as ms

        database = ms.database.JSONDatabase(work_dir=str(work_dir), allow_missing=False)
        mod = database.get_all_tuning_records()[0].workload.mod
        return dataclasses.replace(load_workload(mod), name=name)


def _floors(workload_name: str, mod) -> tuple[dict[str, object], bool]:
    """Floor programs for the workload kinds that have them (name prefix before ``:``), and
    whether they compute the workload (so can be verified against it)."""
    kind = workload_name.split(":", 1)[0]
    if kind == "SFM":
        (shape, dtype), *_ = arg_shapes(mod)
        return {"exp pass alone": exp_pass(shape, dtype)}, False
    if kind == "NRM":
        return full_reduction_schedules(mod), True
    return {}, False


def _per_seed(rounds: list[float]) -> str:
    """A program's median round and, in brackets, its fastest and slowest."""
    return f"{statistics.median(rounds):.1f} ({min(rounds):.0f}-{max(rounds):.0f})"


def _unstable(times: dict[str, list[float]]) -> list[str]:
    """Programs whose slowest round exceeds ``UNSTABLE_SPREAD`` times their fastest."""
    return [
        f"{key} ({max(rounds) / min(rounds):.2f}x)"
        for key, rounds in times.items()
        if max(rounds) > UNSTABLE_SPREAD * min(rounds)
    ]


def _comparison(retimed: dict[tuple[str, str], float], ours: str) -> list[str]:
    """One line per other strategy: geometric-mean speedup of ``ours`` on re-timed medians."""
    workloads = sorted({w for w, s in retimed if s == ours})
    others = sorted({s for _, s in retimed if s != ours})
    out = []
    for other in others:
        shared = [w for w in workloads if (w, other) in retimed]
        ratios = {w: retimed[w, other] / retimed[w, ours] for w in shared}
        if not ratios:
            continue
        geomean, wins = speedup_summary(ratios)
        out.append(
            f"- Re-timed, {ours} vs {other}: {geomean:.2f}x geometric mean, faster on {wins} of "
            f"{len(ratios)} workloads (per workload: "
            + ", ".join(f"{w} {r:.2f}x" for w, r in ratios.items())
            + ")."
        )
    return out


@dataclasses.dataclass
class _LabelledRun:
    """A finished run, the output directory holding it, and its label in the tables."""

    run: RunRecord
    store: BenchStore
    matrix: str
    strategy: str = ""

    def __post_init__(self) -> None:
        self.strategy = self.strategy or self.run.strategy

    @property
    def key(self) -> str:
        """Unique over several output directories (run ids repeat across matrices)."""
        return f"{self.matrix}/{self.run.run_id}"


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        required=True,
        action="append",
        help="bench_tuning.py output directory (repeat to time several matrices' programs in "
        "the same rounds; a strategy label found in several gets the directory's name)",
    )
    parser.add_argument("--budget", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ours", default="llm", help="strategy the others are compared with")
    parser.add_argument(
        "--pool",
        action="store_true",
        help="pool a strategy's runs over all --out directories (e.g. seeds run later into another "
        "directory) instead of labelling each directory's runs apart",
    )
    parser.add_argument(
        "--workloads", default=None, help="comma-separated workloads to re-time (default: all)"
    )
    parser.add_argument("--write-benchmarks", default=None)
    parser.add_argument(
        "--section", default=SECTION, help="the '## ' section of --write-benchmarks to (re)write"
    )
    args = parser.parse_args(argv)

    wanted = set(args.workloads.split(",")) if args.workloads else None
    runs = [
        _LabelledRun(run, BenchStore(out), Path(out).name)
        for out in args.out
        for run in load_results(out).runs
        if run.max_trials == args.budget and (wanted is None or run.workload in wanted)
    ]
    if not runs:
        parser.error(f"{', '.join(args.out)}: no finished run at {args.budget} trials")
    dirs_of: dict[str, set[str]] = collections.defaultdict(set)
    for item in runs:
        dirs_of[item.run.strategy].add(item.matrix)
    for item in runs:
        if len(dirs_of[item.run.strategy]) > 1 and not args.pool:
            item.strategy = f"{item.run.strategy} [{item.matrix}]"
    target = resolve_target(runs[0].run.target)
    use_target_cores(target)
    lines = [
        args.section,
        "",
        f"Every run's best program at {args.budget} trials from "
        f"{', '.join(f'`{out}`' for out in args.out)}, rebuilt from its "
        f"tuning record, verified against the unscheduled workload, then timed round-robin "
        f"{args.rounds} times with the runner's settings (number=3, min_repeat_ms=100); median "
        "of the rounds, then median over seeds. `recorded` is the best latency the run measured "
        "while tuning (one measurement, the minimum over its trials). Floors are hand-written "
        "programs timed in the same rounds: for softmax the `exp` pass alone (a lower bound: every "
        "softmax schedule evaluates `exp` once per element, as a scalar libm call), for NRM the "
        "best of 16 hand schedules of the reduction. Per seed, in brackets: the fastest and the "
        f"slowest round; a program whose slowest round is over {UNSTABLE_SPREAD}x its fastest is "
        "listed as unstable below the table (its one recorded measurement may be a lucky draw).",
        "",
        "| workload | strategy | recorded (us) | re-timed (us) | per seed re-timed (us) "
        "| verified |",
        "| --- | --- | ---: | ---: | --- | --- |",
    ]
    retimed: dict[tuple[str, str], float] = {}
    unstable: list[str] = []
    by_workload: dict[str, list] = collections.defaultdict(list)
    for item in runs:
        by_workload[item.run.workload].append(item)
    for name, wl_runs in by_workload.items():
        workload = _workload(name, wl_runs[0].store.work_dir(wl_runs[0].run.run_id))
        mods, recorded, checked = {}, {}, {}
        for item in sorted(wl_runs, key=lambda r: (r.strategy, r.run.seed)):
            best = best_program(item.store.work_dir(item.run.run_id), workload.mod)
            mods[item.key] = best.mod
            recorded[item.key] = best.recorded_us
            checked[item.key] = verify(workload.mod, best.mod, target, seeds=(0,)).ok
        floors, comparable = _floors(name, workload.mod)
        verified = {
            label: "yes" if verify(workload.mod, mod, target, seeds=(0,)).ok else "NO"
            for label, mod in floors.items()
            if comparable
        }
        times = retime_interleaved({**mods, **floors}, target, args.rounds)
        unstable += _unstable({key: times[key] for key in mods})
        medians = {key: statistics.median(values) for key, values in times.items()}
        strategies: dict[str, list] = collections.defaultdict(list)
        for item in wl_runs:
            strategies[item.strategy].append(item)
        for strategy, s_runs in sorted(strategies.items()):
            s_runs.sort(key=lambda r: r.run.seed)
            ids = [r.key for r in s_runs]
            retimed[name, strategy] = statistics.median(medians[i] for i in ids)
            lines.append(
                f"| {name} | {strategy} "
                f"| {statistics.median(recorded[i] for i in ids):.1f} "
                f"| {retimed[name, strategy]:.1f} "
                f"| {', '.join(_per_seed(times[i]) for i in ids)} "
                f"| {'yes' if all(checked[i] for i in ids) else 'NO'} |"
            )
            print(lines[-1], flush=True)
        if floors:
            best_label = min(floors, key=lambda label: medians[label])
            lines.append(
                f"| {name} | floor: {best_label} | | {medians[best_label]:.1f} "
                f"| best of {len(floors)} hand schedules | "
                f"{verified.get(best_label, 'n/a (not the workload)')} |"
            )
            print(lines[-1], flush=True)
            for label in floors:
                print(f"    {label}: {medians[label]:.1f} us", flush=True)
    if unstable:
        lines += ["", f"Unstable (slowest round / fastest): {', '.join(unstable)}."]
    lines += ["", *_comparison(retimed, args.ours)]
    publish_section(
        lines,
        "python/bench_retime.py",
        argv if argv is not None else sys.argv[1:],
        args.section,
        args.write_benchmarks,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
