"""Latency of the step language: parsing, applying a primitive step, a decision edit (full replay),
and building the legal-step menu, on small standard workloads and their design-space samples.

Usage (from the repo root)::

    python python/bench_steps.py --workloads GMM:0 SFM:0 C2D:0 --write-benchmarks BENCHMARKS.md

The first design space in a process constructs a MetaSchedule ``TuneContext``, which imports TVM's
tensor intrinsics (tens of seconds); that one-off cost is not part of any number below.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from tvm_llm_sched.bench.report import write_section
from tvm_llm_sched.steps import State, legal_steps, parse_step
from tvm_llm_sched.workloads import load_workload

SECTION = "## Step language latency"


def _ms(fn, repeats: int) -> float:
    """Median wall milliseconds of ``fn()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def measure(workload: str, repeats: int) -> list[tuple[str, str, float, str]]:
    mod = load_workload(workload).mod
    rows = []
    initial = State.initial(mod)
    menu = legal_steps(initial)
    primitive = next(s for s in menu if not s.is_decision_edit)
    rows.append(
        (
            workload,
            "parse_step (text)",
            _ms(lambda: parse_step(primitive.to_text()), repeats),
            primitive.to_text(),
        )
    )
    rows.append(
        (
            workload,
            "apply primitive",
            _ms(lambda: initial.apply(primitive), repeats),
            primitive.to_text(),
        )
    )
    rows.append(
        (
            workload,
            "legal_steps (limit 40)",
            _ms(lambda: legal_steps(initial), max(repeats // 10, 3)),
            f"{len(menu)} steps",
        )
    )
    design = State.design_spaces(mod, rand_state=0)[0]
    design_menu = legal_steps(design)
    edit = next((s for s in design_menu if s.is_decision_edit), None)
    if edit is not None:
        rows.append(
            (
                f"{workload} design",
                "apply decision edit",
                _ms(lambda: design.apply(edit), repeats),
                edit.to_text(),
            )
        )
    rows.append(
        (
            f"{workload} design",
            "legal_steps (limit 40)",
            _ms(lambda: legal_steps(design), max(repeats // 10, 3)),
            f"{len(design_menu)} steps",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["GMM:0", "SFM:0", "C2D:0"])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--write-benchmarks", type=Path, default=None)
    args = parser.parse_args()
    rows = [row for w in args.workloads for row in measure(w, args.repeats)]
    lines = [
        SECTION,
        "",
        f"Command: `python python/bench_steps.py --workloads {' '.join(args.workloads)}"
        f" --repeats {args.repeats}`",
        "",
        f"Machine: {platform.machine()} `{platform.platform()}`,"
        f" Python {platform.python_version()}; median wall time, one thread,"
        " on a shared 2-core machine (noisy).",
        "",
        "| state | operation | ms | example |",
        "|---|---|---:|---|",
        *[f"| {state} | {op} | {ms:.2f} | `{example}` |" for state, op, ms, example in rows],
        "",
        "A decision edit replays the whole base trace and re-applies later primitive steps;",
        "legal_steps test-applies every candidate on the state before listing it.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_benchmarks is not None:
        write_section(args.write_benchmarks, text, title=SECTION)


if __name__ == "__main__":
    main()
