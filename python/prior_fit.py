"""How well the expert policy's prior ranks programs that were measured, without measuring.

Reads MetaSchedule work dirs (any strategy's), rebuilds the decisions of every measured record on
its workload, scores them with :meth:`ExpertPolicy.prior` for the CPU the record was measured on,
and reports per workload: the Spearman rank correlation of score and speed, the median latency of
the prior's top 5 % (ties included) over the best, and the median score rank (0 = top) of the
five fastest programs. A cheap gate before the interleaved A/B a prior change needs: run it at
both commits on the same work dirs.

    python python/prior_fit.py bench_out/issue15_coverage/work/* --l2-kib 512
"""

from __future__ import annotations

import argparse
import collections
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from tvm_llm_sched.bench.prior_fit import fit, report, scored_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dirs", nargs="+", help="MetaSchedule work dirs")
    parser.add_argument(
        "--l2-kib",
        type=int,
        default=None,
        help="L2 size of the machine that measured (default: this machine's)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    by_workload: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    skipped = 0
    with ProcessPoolExecutor(args.jobs) as pool:
        for label, records, unused in pool.map(
            scored_records, args.work_dirs, [args.l2_kib] * len(args.work_dirs)
        ):
            by_workload[label] += records
            skipped += unused
    if skipped:
        print(f"skipped {skipped} records or lines that do not replay or read", file=sys.stderr)
    print(report({name: fit(recs) for name, recs in by_workload.items() if len(recs) >= 8}))


if __name__ == "__main__":
    main()
