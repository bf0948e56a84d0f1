"""Prompt size of the LLM proposer: system prompt and user prompts of real situations.

For every te_workload kind at the given index (unscheduled state, legal-step menu of ``--menu``
entries, CPU facts, two recent outcomes and one rejection), measures the characters and a token
proxy of :func:`tvm_llm_sched.proposers.system_prompt` and
:func:`tvm_llm_sched.proposers.user_prompt`, and what the machine-readable ``situation`` copy
costs next to a copy that repeated the IR, menu, workload and hardware line. The token proxy
counts the regex tokens ``\\w+|[^\\w\\s]``; real BPE tokenizers split long numbers further, so
it is a lower bound.

Usage (from the repo root)::

    python python/bench_prompts.py --index 0 --write-benchmarks BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

from tvm_llm_sched.bench.report import write_section
from tvm_llm_sched.hardware import detect_cpu, host_target
from tvm_llm_sched.ir import hardware_summary, render, token_proxy
from tvm_llm_sched.proposers import Outcome, Rejection, Situation, system_prompt, user_prompt
from tvm_llm_sched.proposers.facts import CpuFacts, Facts
from tvm_llm_sched.search.facts import cpu_facts
from tvm_llm_sched.steps import State, legal_steps
from tvm_llm_sched.workloads import load_workload, standard_workload_names

SECTION = "## LLM proposer prompt size"


def situation_of(name: str, menu_size: int, cpu: CpuFacts) -> Situation:
    """A realistic situation of an unscheduled workload."""
    state = State.initial(load_workload(name).mod)
    menu = tuple(legal_steps(state, limit=menu_size))
    return Situation(
        workload=name,
        ir=render(state.schedule),
        hardware=hardware_summary(),
        menu=menu,
        facts=Facts(cpu=cpu),
        state_latency_us=812.5,
        best_latency_us=640.25,
        recent=tuple(
            Outcome(steps=(step,), latency_us=700.0 + i) for i, step in enumerate(menu[:2])
        ),
        rejections=(Rejection(step="split(l99, [2, 2])", reason="unknown loop 'l99'"),),
    )


def main(argv: list[str] | None = None) -> int:
    """Measure, print the section, and optionally write it into a markdown file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--menu", type=int, default=24)
    parser.add_argument("--write-benchmarks", type=Path, default=None, metavar="PATH")
    args = parser.parse_args(argv)
    cpu = cpu_facts(detect_cpu(host_target()))
    rows = []
    for kind in standard_workload_names():
        situation = situation_of(f"{kind}:{args.index}", args.menu, cpu)
        prompt = user_prompt(situation)
        copy = prompt[prompt.rindex("```situation") :]
        naive = json.dumps(situation.to_json(), sort_keys=True, separators=(",", ":"))
        rows.append((kind, len(prompt), token_proxy(prompt), token_proxy(copy), token_proxy(naive)))
    median = statistics.median
    system = system_prompt()
    command = "python python/bench_prompts.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    lines = [
        SECTION,
        "",
        f"Command: `{command.strip()}`",
        "",
        f"Python {platform.python_version()} on {platform.machine()}. Tokens: regex proxy "
        "`\\w+|[^\\w\\s]` (a lower bound for BPE tokenizers). te_workload index "
        f"{args.index}, unscheduled, menu of up to {args.menu} legal steps, 2 recent outcomes, "
        "1 rejection.",
        "",
        f"System prompt (sent with every call, cacheable): {len(system):,} chars, "
        f"{token_proxy(system):,} tokens.",
        "",
        "| workload | user prompt chars | user prompt tokens | situation copy tokens "
        "| a full JSON copy would be |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {k}:{args.index} | {c:,} | {t:,} | {s:,} | {n:,} |" for k, c, t, s, n in rows]
    lines += [
        f"| **median** | {median(r[1] for r in rows):,.0f} | {median(r[2] for r in rows):,.0f} "
        f"| {median(r[3] for r in rows):,.0f} | {median(r[4] for r in rows):,.0f} |",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if args.write_benchmarks is not None:
        write_section(args.write_benchmarks, section, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
