"""What skipping proposer states by their step IR saves: search time per iteration, same runs.

Runs LLMGuidedSearch three ways in one interleaved matrix (workload, then seed, then variant), on
the benchmark harness (same builder, runner and target as ``bench_tuning.py``):

- ``without``: ``SearchConfig(state_dedup=False)``, every proposer state replayed, postprocessed
  and structurally hashed before the batch dedup drops repeats;
- ``with``: the default, a state whose step IR the batch holds or a measured state had is skipped
  first (native canonical hash);
- ``audit``: ``with``, but skipped states are still postprocessed and hashed to count those whose
  program differs from the kept state's (collisions).

The search is the same in all three unless a collision happens, so the measured programs match and
only the time in ``generate_measure_candidates`` ("search" per iteration) differs::

    python python/bench_state_dedup.py --workloads GMM:1,C2D:1 --seeds 0,1,2 --trials 64 \\
        --out bench_out/state_dedup
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from tvm_llm_sched.bench import BenchConfig, run_matrix  # noqa: E402
from tvm_llm_sched.search import LLMGuidedSearch, SearchConfig  # noqa: E402

_MODULE = Path(__file__).stem
VARIANTS = {
    "without": SearchConfig(state_dedup=False),
    "with": SearchConfig(),
    "audit": SearchConfig(audit_state_dedup=True),
}


class _DoneMessages(logging.Handler):
    """Collects LLMGuidedSearch's end-of-task summary (its dedup counters), in run order."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counters: list[tuple[int, int, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("LLMGuidedSearch done"):
            self.counters.append(tuple(record.args[-3:]))


def _factory(name: str):
    def make() -> LLMGuidedSearch:
        return LLMGuidedSearch(config=VARIANTS[name])

    make.__name__ = f"state_dedup_{name}"
    return make


state_dedup_without = _factory("without")
state_dedup_with = _factory("with")
state_dedup_audit = _factory("audit")


def main(argv: list[str] | None = None) -> int:
    """Run the matrix and print search seconds per iteration for each variant."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="GMM:1,C2D:1")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("bench_out/state_dedup"))
    args = parser.parse_args(argv)
    config = BenchConfig(
        workloads=tuple(args.workloads.split(",")),
        strategies=tuple(f"{_MODULE}:state_dedup_{name}" for name in VARIANTS),
        budgets=(args.trials,),
        seeds=tuple(int(s) for s in args.seeds.split(",")),
        out_dir=args.out,
        command="python python/bench_state_dedup.py " + " ".join(sys.argv[1:]),
    )
    done = _DoneMessages()
    search_logger = logging.getLogger("tvm_llm_sched.search")
    search_logger.addHandler(done)
    search_logger.setLevel(logging.INFO)
    results = run_matrix(config, progress=False)
    table: dict[tuple[str, str], list[float]] = {}
    bests: dict[tuple[str, str, int], float] = {}
    for run in results.runs:
        variant = run.strategy.rsplit("_", 1)[-1]
        per_iter = [it.search_s for it in run.iterations]
        table.setdefault((run.workload, variant), []).extend(per_iter)
        bests[(run.workload, variant, run.seed)] = min(
            (t.latency_us for it in run.iterations for t in it.trials), default=float("inf")
        )
    print("| workload | variant | search s/iter (median) | mean | iterations |")
    print("| --- | --- | ---: | ---: | ---: |")
    for (workload, variant), times in sorted(table.items()):
        print(
            f"| {workload} | {variant} | {statistics.median(times):.2f} | "
            f"{statistics.mean(times):.2f} | {len(times)} |"
        )
    print(
        "\nbest latency per run (us):",
        json.dumps({"/".join(map(str, k)): round(v, 2) for k, v in sorted(bests.items())}),
    )
    print("\n| run | states skipped | audited | collisions |")
    print("| --- | ---: | ---: | ---: |")
    for run, counters in zip(results.runs, done.counters, strict=False):
        print(f"| {run.run_id} | {' | '.join(map(str, counters))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
