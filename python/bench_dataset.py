"""Build a step-level dataset from benchmark work dirs and report what it holds and how fast.

Reads every MetaSchedule work dir under the given roots (``bench_tuning.py`` writes them to
``<out>/work/<run>``), builds the dataset with :func:`tvm_llm_sched.dataset.build_dataset`, replays
every sample again with :func:`~tvm_llm_sched.dataset.verify_dataset`, and reports samples per
format, split and kind, the verification rate, and the build time per 1,000 records (the dataset
issue's goal: under 60 s on 2 cores).

    python python/bench_dataset.py bench_out/issue15_budgets/work --out bench_out/dataset \\
        --write-benchmarks BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from tvm_llm_sched.bench.report import publish_section
from tvm_llm_sched.database import RECORD_FILE
from tvm_llm_sched.dataset import DatasetConfig, build_dataset, verify_dataset

SECTION = "## Step-level datasets from tuning work dirs (issue 16)"


def work_dirs(roots: list[str]) -> list[Path]:
    """Every directory under ``roots`` (or a root itself) that holds a tuning record file."""
    found = []
    for root in map(Path, roots):
        found += sorted(p.parent for p in root.rglob(RECORD_FILE))
    return found


def main(argv: list[str] | None = None) -> int:
    """Build, verify, report."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", help="work dirs, or directories holding them")
    parser.add_argument("--out", required=True, help="dataset output directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-benchmarks", default=None)
    args = parser.parse_args(argv)

    dirs = work_dirs(args.roots)
    if not dirs:
        parser.error(f"no work dirs under {args.roots}")
    command = f"python python/bench_dataset.py {' '.join(argv)}"
    report = build_dataset(dirs, args.out, DatasetConfig(seed=args.seed, jobs=0), command=command)
    started = time.perf_counter()
    verified = verify_dataset(args.out)
    verify_s = time.perf_counter() - started
    per_1000 = 1000 * report.seconds / max(report.records, 1)
    lines = [
        SECTION,
        "",
        f"{len(dirs)} work dirs, {report.records} tuning records -> {report.samples} samples in "
        f"{report.seconds:.1f} s ({per_1000:.1f} s per 1,000 records); `dataset verify` replayed "
        f"{verified.passed} of {verified.samples} samples ({100 * verified.rate:.1f} %) in "
        f"{verify_s:.1f} s.",
        "",
        "| file | lines |",
        "| --- | ---: |",
        *[f"| {name}.jsonl | {count} |" for name, count in sorted(report.lines.items())],
        "",
        "| step kind | samples |",
        "| --- | ---: |",
        *[f"| {kind} | {count} |" for kind, count in sorted(report.kinds.items())],
        "",
        "Dropped: "
        + (", ".join(f"{k} {v}" for k, v in report.counts["dropped"].items()) or "nothing")
        + "; skipped while reading: "
        + (", ".join(f"{k} {v}" for k, v in report.counts["read"]["skipped"].items()) or "nothing")
        + ".",
    ]
    publish_section(lines, "python/bench_dataset.py", argv, SECTION, args.write_benchmarks)
    return 0 if verified.rate == 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
