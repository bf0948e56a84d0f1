"""Smoke run of the pinned stack: tune a small batch matmul with plain MetaSchedule.

Run with ``python tutorials/01_tune_with_metaschedule.py``; it tunes GMM:0 for 8 trials on the host
CPU target (``mcpu`` filled in), compiles the best schedule and checks it against NumPy.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import tvm
from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.hardware import host_target, use_target_cores
from tvm_llm_sched.tvm_compat import local_builder
from tvm_llm_sched.workloads import load_workload


def main(trials: int = 8) -> None:
    """Tune GMM:0 with MetaSchedule's replay-trace strategy and print the best latency."""
    workload = load_workload("GMM:0")
    target = host_target()
    use_target_cores(target)  # time parallel loops on every core
    with tempfile.TemporaryDirectory() as work_dir:
        start = time.perf_counter()
        database = ms.tune_tir(
            workload.mod,
            target,
            work_dir,
            max_trials_global=trials,
            num_trials_per_iter=trials,
            strategy="replay-trace",
            builder=local_builder(),  # TVM's default builder times out on a busy 2-core machine
            seed=0,
        )
        sch = ms.tir_integration.compile_tir(database, workload.mod, target)
        wall = time.perf_counter() - start
    lib = tvm.compile(sch.mod, target=target)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 128, 128), dtype="float32")
    y = rng.standard_normal((1, 128, 128), dtype="float32")
    device = tvm.cpu()
    args = [tvm.runtime.tensor(a, device) for a in (x, y, np.zeros((1, 128, 128), "float32"))]
    lib["main"](*args)
    np.testing.assert_allclose(args[2].numpy(), x @ y, rtol=1e-4, atol=1e-4)
    seconds = lib.mod.time_evaluator("main", device, number=50, repeat=3)(*args).mean
    print(
        f"{workload.name}: best {seconds * 1e6:.1f} us "
        f"({workload.flops / seconds / 1e9:.1f} GFLOP/s) after {trials} trials, "
        f"{wall:.0f} s wall, target {target}"
    )


if __name__ == "__main__":
    main()
