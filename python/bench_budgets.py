"""Sample efficiency at growing budgets, read off one long run per (workload, strategy).

For a ``bench_tuning.py`` output directory tuned to a large budget (e.g. 512 trials), reports the
best latency each strategy had recorded at every budget of ``--budgets``, and how many trials
each other strategy needed to reach ``--ours``' latency at ``--reference`` trials (the issue's
sample-efficiency target: EvolutionarySearch needs >= 4x the trials to reach LLMGuidedSearch@64).
The run's own plots (best-so-far against trials, PNG) are copied next to BENCHMARKS.md's raw data
with ``--plots-to``.

    python python/bench_budgets.py --out bench_out/issue15_budgets --budgets 64,128,256,512 \\
        --plots-to python/results --write-benchmarks BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from tvm_llm_sched.bench import load_results, read_at_budget
from tvm_llm_sched.bench.report import publish_section
from tvm_llm_sched.bench.summary import trials_to_reach

SECTION = "## Issue 15: budgets up to 512 trials (sample efficiency)"


def main(argv: list[str] | None = None) -> int:
    """Read the runs, write the section."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="bench_tuning.py output directory")
    parser.add_argument("--budgets", default="64,128,256,512")
    parser.add_argument("--ours", default="llm")
    parser.add_argument("--reference", type=int, default=64, help="budget of ours to reach")
    parser.add_argument("--plots-to", default=None, help="copy the per-workload PNGs here")
    parser.add_argument("--write-benchmarks", default=None)
    parser.add_argument("--section", default=SECTION, help="the section's heading")
    parser.add_argument(
        "--plot-prefix", default="issue15_budgets_", help="file-name prefix of the copied PNGs"
    )
    args = parser.parse_args(argv)

    budgets = [int(b) for b in args.budgets.split(",")]
    runs = [r for r in load_results(args.out).runs if r.max_trials >= max(budgets)]
    by_key = {(r.workload, r.strategy, r.seed): r for r in runs}
    workloads = sorted({r.workload for r in runs})
    strategies = sorted({r.strategy for r in runs}, key=lambda s: (s != args.ours, s))
    lines = [
        args.section,
        "",
        f"Best latency (us) recorded while tuning, read at each budget off one {max(budgets)}-"
        f"trial run per strategy (seed 0); `trials to reach` is how many trials a strategy needed "
        f"to reach {args.ours}'s latency at {args.reference} trials, and the ratio to "
        f"{args.reference} (`never` if it did not within {max(budgets)}).",
        "",
    ]
    ratios: dict[str, list[float]] = {}
    for workload in workloads:
        reach_title = f"trials to reach {args.ours}@{args.reference}"
        header = ["strategy", *[f"{b}" for b in budgets], reach_title]
        lines += [f"**{workload}**", "", "| " + " | ".join(header) + " |"]
        lines.append("| --- |" + " ---: |" * (len(header) - 1))
        ours = by_key.get((workload, args.ours, 0))
        target = read_at_budget(ours, args.reference).best_us if ours else None
        for strategy in strategies:
            run = by_key.get((workload, strategy, 0))
            if run is None:
                continue
            cells = [f"{read_at_budget(run, b).best_us:.1f}" for b in budgets]
            reach = "" if strategy == args.ours or target is None else "never"
            if strategy != args.ours and target is not None:
                needed = trials_to_reach(run, target)
                if needed is not None:
                    reach = f"{needed} ({needed / args.reference:.1f}x)"
                    ratios.setdefault(strategy, []).append(needed / args.reference)
            lines.append(f"| {strategy} | " + " | ".join(cells) + f" | {reach} |")
        lines.append("")
        if args.plots_to:
            for png in Path(args.out, "plots").glob(f"{workload.replace(':', '_')}*.png"):
                target_dir = Path(args.plots_to)
                target_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(png, target_dir / f"{args.plot_prefix}{png.name}")
    for strategy in strategies:
        if strategy == args.ours:
            continue
        per_budget = []
        for b in budgets:
            ratio = [
                read_at_budget(by_key[(w, strategy, 0)], b).best_us
                / read_at_budget(by_key[(w, args.ours, 0)], b).best_us
                for w in workloads
                if (w, strategy, 0) in by_key and (w, args.ours, 0) in by_key
            ]
            if ratio:
                per_budget.append(f"{b}: {statistics.geometric_mean(ratio):.2f}x")
        reached = ratios.get(strategy, [])
        after = ", ".join(f"{r:.1f}x" for r in reached)
        lines.append(
            f"- {args.ours} vs {strategy}, geometric mean of recorded speedups by budget: "
            + ", ".join(per_budget)
            + f"; reached {args.ours}@{args.reference} on {len(reached)} of {len(workloads)} "
            f"workloads within {max(budgets)} trials"
            + (f" (after {after} the trials)." if reached else ".")
        )
    publish_section(lines, "python/bench_budgets.py", argv, args.section, args.write_benchmarks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
