"""The expert policy's first proposals: verified, and timed against the unscheduled program.

For each workload and each of its MetaSchedule design spaces (decisions sampled with seed 1):
follow the expert policy's best step up to ``--depth`` times, postprocess, verify numerically and
time with MetaSchedule's runner settings; this is what LLMGuidedSearch measures first.

    python python/bench_expert.py --workloads GMM:1 C2D:1 DEP:0 SFM:1 \\
        --write-benchmarks BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import sys

from tvm_llm_sched.bench.expert import first_proposals
from tvm_llm_sched.bench.report import publish_section

SECTION = "## Expert policy: first proposals"


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["GMM:1", "C2D:1", "DEP:0", "SFM:1"])
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--write-benchmarks", default=None)
    args = parser.parse_args(argv)
    lines = [
        SECTION,
        "",
        "Every MetaSchedule design space of the workload (decisions sampled with seed 1), then the "
        f"expert policy's best step up to {args.depth} times, verified on 2 seeds and timed with "
        "MetaSchedule's runner settings (number=3, min_repeat_ms=100). No measurement feedback: "
        "the policy's prior alone, which is what LLMGuidedSearch measures in its first iteration.",
        "",
        "| workload | unscheduled (us) | best sampled space (us) | best after expert steps (us) "
        "| speedup vs unscheduled | verified (max abs err) | steps of the best |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for spec in args.workloads:
        result = first_proposals(spec, depth=args.depth)
        best = result.best
        lines.append(
            f"| {spec} | {result.unscheduled_us:.1f} | {result.best_sampled_us:.1f} "
            f"| {best.expert_us:.1f} (space {best.space} of {len(result.spaces)}) "
            f"| {result.unscheduled_us / best.expert_us:.1f}x "
            f"| {'yes' if best.verified else 'NO'} ({best.max_abs_err:.1e}) "
            f"| `{'; '.join(best.steps)}` |"
        )
        print(lines[-1], flush=True)
    publish_section(
        lines,
        "python/bench_expert.py",
        argv if argv is not None else sys.argv[1:],
        SECTION,
        args.write_benchmarks,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
