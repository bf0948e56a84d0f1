"""Generality sweep: LLMGuidedSearch on tensor programs outside te_workload, at a tiny budget.

Each workload (:mod:`tvm_llm_sched.testing.programs`: dtypes, prime extents, transposes, layout
changes, gathers, comm-reducers, multi-output functions, fused epilogues) is tuned with
``ms.tune_tir(..., strategy=LLMGuidedSearch())`` (the test kit's lean builder), compiled from its
database with TVM alone, and verified against the unscheduled program. One line per workload:
records, best latency, verification, wall time; a failure prints its traceback and the sweep goes
on.

Usage::

    python python/bench_generality.py [--only transpose,argmax] [--te-indices 2,3] [--trials 16]
"""

from __future__ import annotations

import argparse
import functools
import logging
import tempfile
import time
import traceback
from collections.abc import Callable

import tvm
from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.hardware import host_target, use_target_cores
from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.testing import strategy_conformance as kit
from tvm_llm_sched.testing.programs import PROGRAMS
from tvm_llm_sched.verify import verify
from tvm_llm_sched.workloads import load_workload, standard_workload_names


def tune_one(mod: tvm.IRModule, target: tvm.target.Target, trials: int) -> str:
    """Tune (the test kit's builder and runner), compile from the database with TVM alone,
    verify; one summary line."""
    with tempfile.TemporaryDirectory() as work_dir:
        database = kit.tune(
            mod,
            work_dir,
            LLMGuidedSearch(),
            max_trials=trials,
            num_trials_per_iter=8,
            target=target,
        )
        records = database.get_all_tuning_records()
        ran = [us for us in map(kit.record_latency_us, records) if us is not None]
        best = ms.tir_integration.compile_tir(database, mod, target)
        report = verify(mod, best, target)
    latency = f"{min(ran):.1f} us" if ran else "none ran"
    return (
        f"records {len(records)}, ran {len(ran)}, best {latency}, verified {report.ok} "
        f"(max abs error {report.max_abs_err:.1e})"
    )


def _builders(only: str, te_indices: str) -> dict[str, Callable[[], tvm.IRModule]]:
    """The programs to sweep: ``only`` (or all) of PROGRAMS, then every te_workload kind at
    each of ``te_indices``."""
    names = [n for n in only.split(",") if n] or ([] if te_indices else list(PROGRAMS))
    unknown = sorted(set(names) - set(PROGRAMS))
    if unknown:
        raise SystemExit(f"unknown workloads {unknown}; known: {', '.join(PROGRAMS)}")
    builders = {name: PROGRAMS[name] for name in names}
    for index in (int(i) for i in te_indices.split(",") if i):
        for kind in standard_workload_names():
            spec = f"{kind}:{index}"
            builders[spec] = functools.partial(lambda s: load_workload(s).mod, spec)
    return builders


def main() -> None:
    """Run the sweep and print one line per workload."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated names of PROGRAMS")
    parser.add_argument(
        "--te-indices", default="", help="also every te_workload kind at these indices (2,3)"
    )
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()
    builders = _builders(args.only, args.te_indices)
    logging.getLogger("tvm.s_tir.meta_schedule").setLevel(logging.WARNING)
    target = host_target()
    use_target_cores(target)
    lines = []
    for name, build in builders.items():
        start = time.perf_counter()
        try:
            line = tune_one(build(), target, args.trials)
        except Exception as exc:  # report and go on: the sweep looks for exactly these
            traceback.print_exc()
            line = f"FAILED {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        lines.append(f"{name:16s} {line} ({time.perf_counter() - start:.0f} s)")
        print(lines[-1], flush=True)
    print("\n".join(["", "summary:", *lines]))


if __name__ == "__main__":
    main()
