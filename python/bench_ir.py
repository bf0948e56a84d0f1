"""Size of the step-level IR rendering against TVMScript (``mod.script()``).

For every te_workload kind and index, and for MetaSchedule design-space samples (before and
after the llvm postprocessors), measures characters and a token proxy of
``tvm_llm_sched.ir.render(state)`` against ``state.mod.script()``. The token proxy counts the
regex tokens ``\\w+|[^\\w\\s]`` (a word, number or identifier run is one token, every other
non-space character is one token); real BPE tokenizers split long numbers and identifiers
further, so it is a lower bound for both texts.

Usage (from the repo root)::

    python python/bench_ir.py --indices 0 1 2 3 --write-benchmarks BENCHMARKS.md

Design spaces need a MetaSchedule ``TuneContext`` (its first construction in a process imports
TVM's tensor intrinsics, ~30 s here); ``--no-design-spaces`` skips them.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import time
from pathlib import Path

import tvm

from tvm_llm_sched.bench.report import write_section
from tvm_llm_sched.ir import render, token_proxy
from tvm_llm_sched.steps import design_space_context
from tvm_llm_sched.workloads import load_workload, standard_workload_names

SECTION = "## Step-level IR size"


@dataclasses.dataclass(frozen=True)
class Sample:
    """One rendered state: sizes of both texts and the render time."""

    name: str
    ir_chars: int
    script_chars: int
    ir_tokens: int
    script_tokens: int
    render_us: float


def measure(name: str, state) -> Sample:
    """Render ``state`` (best of 5 for the time) and count both texts."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        text = render(state)
        times.append(time.perf_counter() - start)
    mod = state.mod if isinstance(state, tvm.s_tir.Schedule) else state
    script = mod.script()
    return Sample(
        name=name,
        ir_chars=len(text),
        script_chars=len(script),
        ir_tokens=token_proxy(text),
        script_tokens=token_proxy(script),
        render_us=min(times) * 1e6,
    )


def design_space_states(kinds: list[str]) -> tuple[list, list]:
    """(design spaces, the same after the llvm postprocessors) for ``kind:0`` of every kind."""
    raw, post = [], []
    for kind in kinds:
        mod = load_workload(f"{kind}:0").mod
        ctx = design_space_context(mod, rand_state=0)
        for number, space in enumerate(ctx.space_generator.generate_design_space(mod)):
            raw.append((f"{kind}:0#{number}", space))
            done = space.copy()
            done.enter_postproc()
            if all(postproc.apply(done) for postproc in ctx.space_generator.postprocs):
                post.append((f"{kind}:0#{number}", done))
    return raw, post


def summary_row(label: str, samples: list[Sample]) -> str:
    """One markdown table row of medians over ``samples``."""

    def median(values) -> float:
        return statistics.median(values)

    char_ratios = [s.script_chars / s.ir_chars for s in samples]
    token_ratios = [s.script_tokens / s.ir_tokens for s in samples]
    return (
        f"| {label} | {len(samples)} | {median(s.ir_chars for s in samples):,.0f} | "
        f"{median(s.script_chars for s in samples):,.0f} | **{median(char_ratios):.2f}x** | "
        f"{min(char_ratios):.2f}x | {median(s.ir_tokens for s in samples):,.0f} | "
        f"{median(s.script_tokens for s in samples):,.0f} | {median(token_ratios):.2f}x | "
        f"{median(s.render_us for s in samples):,.0f} |"
    )


def section_text(groups: dict[str, list[Sample]], command: str, example: str) -> str:
    """The markdown section: table of medians plus one example rendering."""
    lines = [
        SECTION,
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.machine()} `{platform.platform()}`, Python "
        f"{platform.python_version()}, TVM {tvm.__version__}. Ratio = TVMScript / rendering "
        "(per state, then the median). Tokens: regex proxy `\\w+|[^\\w\\s]` (identifiers and "
        "numbers count as one token, other non-space characters as one each).",
        "",
        "| states | n | IR chars | TVMScript chars | chars ratio (median) | min ratio "
        "| IR tokens | TVMScript tokens | tokens ratio | render us |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [summary_row(label, samples) for label, samples in groups.items() if samples]
    lines += [
        "",
        "Target (Step-level IR issue): median chars ratio >= 4x over the unscheduled te_workload "
        "set (Step-TP's LEIR reports 5.2x against its own TIR). Design-space states carry "
        "iterator bindings and a `decisions` section, so their ratio is lower.",
        "",
        "Example (GMM:0, unscheduled):",
        "",
        "```",
        example,
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the section, and optionally write it into a markdown file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indices", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--no-design-spaces", action="store_true")
    parser.add_argument("--write-benchmarks", type=Path, default=None, metavar="PATH")
    args = parser.parse_args(argv)
    kinds = standard_workload_names()
    groups: dict[str, list[Sample]] = {}
    for index in args.indices:
        groups[f"te_workload idx {index}, unscheduled"] = [
            measure(f"{kind}:{index}", load_workload(f"{kind}:{index}").mod) for kind in kinds
        ]
    groups["te_workload all listed idx, unscheduled"] = [
        sample for label in list(groups) for sample in groups[label]
    ]
    if not args.no_design_spaces:
        raw, post = design_space_states(kinds)
        groups["design spaces of idx 0 (sampled, with decisions)"] = [
            measure(name, state) for name, state in raw
        ]
        groups["same, after llvm postprocessors"] = [measure(name, state) for name, state in post]
    command = "python python/bench_ir.py " + " ".join(argv if argv is not None else sys.argv[1:])
    section = section_text(groups, command.strip(), render(load_workload("GMM:0").mod))
    print(section)
    if args.write_benchmarks is not None:
        write_section(args.write_benchmarks, section, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
