"""LLMGuidedSearch as a drop-in MetaSchedule strategy, with the embedded expert policy.

Run with ``python tutorials/02_llm_guided_search.py [WORKLOAD] [TRIALS]`` (default GMM:0, 16).
Tunes with ``ms.tune_tir(..., strategy=LLMGuidedSearch())``, then lets TVM alone compile the best
schedule from the work dir and prints it in the step-level IR.
"""

from __future__ import annotations

import sys
import tempfile

from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.hardware import host_target, use_target_cores
from tvm_llm_sched.ir import render
from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.tvm_compat import local_builder
from tvm_llm_sched.verify import verify
from tvm_llm_sched.workloads import load_workload


def main(spec: str = "GMM:0", trials: int = 16) -> None:
    """Tune ``spec`` for ``trials`` trials and print the best schedule."""
    workload = load_workload(spec)
    target = host_target()
    use_target_cores(target)  # time parallel loops on every core
    with tempfile.TemporaryDirectory() as work_dir:
        database = ms.tune_tir(
            workload.mod,
            target,
            work_dir,
            max_trials_global=trials,
            num_trials_per_iter=8,
            strategy=LLMGuidedSearch(),
            builder=local_builder(),
            seed=1,
        )
        sch = ms.tir_integration.compile_tir(database, workload.mod, target)
    report = verify(workload.mod, sch, target)
    print(render(sch))
    print(f"verified: {report.ok} (max abs error {report.max_abs_err:.1e})")


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["GMM:0"]), *(int(a) for a in sys.argv[2:3]))
