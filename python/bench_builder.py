"""The default builder's worker import, before and after ``install_builder_fix``.

1. ``import tvm.s_tir.tensor_intrin`` in a fresh process, as MetaSchedule's LocalBuilder workers
   do for their first build: plain, and through ``tvm_compat.fast_worker_imports`` (the worker
   initializer the fix installs); alternated, ``--repeats`` times each.
2. ``ms.tune_tir`` of a workload with LLMGuidedSearch and the *default* builder
   (``builder="local"``), same seed, with the fix off (``TVM_LLM_SCHED_BUILDER_FIX=0``) and on,
   each in a fresh process: the share of candidates that failed. ``--load N`` keeps N busy-loop
   processes running meanwhile (a machine that is also doing something else).

    python python/bench_builder.py --workload GMM:1 --trials 64 --repeats 3 --load 1
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_IMPORT = """
import time, sys
sys.path.insert(0, {root!r})
start = time.perf_counter()
if {fast}:
    from tvm_llm_sched.tvm_compat import fast_worker_imports
    import tvm
    start = time.perf_counter()
    fast_worker_imports()
else:
    import tvm
    start = time.perf_counter()
    import tvm.s_tir.tensor_intrin
print(time.perf_counter() - start)
"""

_TUNE = """
import json, sys
sys.path.insert(0, {root!r})
from tvm.s_tir import meta_schedule as ms
from tvm_llm_sched import LLMGuidedSearch, host_target, load_workload, use_target_cores
from tvm_llm_sched.measure import latency_us
target = host_target()
use_target_cores(target)
mod = load_workload({workload!r}).mod
db = ms.tune_tir(mod, target, {work!r}, max_trials_global={trials}, num_trials_per_iter=16,
                 strategy=LLMGuidedSearch(), seed=0)
records = db.get_all_tuning_records()
print(json.dumps({{"records": len(records),
                  "failed": sum(latency_us(r) is None for r in records)}}))
"""


def _burn() -> None:
    while True:
        pass


def _run(code: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=3600
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return out.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    """Measure and print both tables (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="GMM:1")
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes meanwhile")
    args = parser.parse_args(argv)
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(args.load)]
    for burner in burners:
        burner.start()
    try:
        env = dict(os.environ)
        times: dict[str, list[float]] = {"plain": [], "fast": []}
        for _ in range(args.repeats):
            for kind in times:
                code = _IMPORT.format(root=str(ROOT), fast=kind == "fast")
                times[kind].append(float(_run(code, env)))
        print(f"busy-loop processes: {args.load}")
        print("| import of tvm.s_tir.tensor_intrin | median s | runs |")
        print("| --- | ---: | --- |")
        for kind, label in (("plain", "plain (before)"), ("fast", "worker initializer (after)")):
            runs = ", ".join(f"{t:.1f}" for t in times[kind])
            print(f"| {label} | {statistics.median(times[kind]):.1f} | {runs} |")
        print("\n| default builder | records | failed | share |")
        print("| --- | ---: | ---: | ---: |")
        for fix, label in (("0", "fix off (before)"), ("1", "fix on (after)")):
            with tempfile.TemporaryDirectory() as work:
                code = _TUNE.format(
                    root=str(ROOT), workload=args.workload, work=work, trials=args.trials
                )
                result = json.loads(_run(code, {**env, "TVM_LLM_SCHED_BUILDER_FIX": fix}))
            share = result["failed"] / max(1, result["records"])
            print(f"| {label} | {result['records']} | {result['failed']} | {share:.0%} |")
    finally:
        for burner in burners:
            burner.terminate()
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"\n({time.perf_counter() - started:.0f} s)")
    sys.exit(code)
