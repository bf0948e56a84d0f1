"""Models end to end: LLMGuidedSearch vs EvolutionarySearch through the task scheduler, against the
untuned default build and PyTorch eager.

Each (model, strategy, seed) is one :func:`tvm_llm_sched.relax.tune_model` run (same task scheduler,
same trials per task, same seed), interleaved model by model; its result JSON is kept under
``--out`` and re-read, so an interrupted benchmark resumes and ``--report-only`` rewrites the table.

    python python/bench_models.py --models decoder_block,encoder_layer,resnet_blocks \\
        --strategies llm,evolutionary --trials 32 --seeds 0 --out bench_out/issue18 \\
        --write-benchmarks BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from tvm_llm_sched.bench.report import publish_section

SECTION = "## Models end to end (issue 18)"


def _models() -> dict[str, Callable[[], object]]:
    from tvm_llm_sched.relax import examples

    return {
        "mlp": examples.mlp,
        "embedding_mlp": examples.embedding_mlp,
        "decoder_block": examples.decoder_block,
        "encoder_layer": examples.torch_encoder_layer,
        "resnet_blocks": examples.torch_resnet_blocks,
    }


def _run_one(
    name: str, label: str, trials: int, seed: int, out: Path, weight_prepack: bool = False
) -> dict:
    """One run; ``label`` is a strategy name or ``LABEL:STRATEGY`` (e.g. ``llm-new:llm``, to
    keep runs of two commits, or with and without weight prepacking, apart in one ``out``)."""
    from tvm_llm_sched.relax import tune_model

    label, _, strategy = label.partition(":")
    strategy = strategy or label
    path = out / f"{name}__{label}__s{seed}__t{trials}.json"
    if path.is_file():
        return json.loads(path.read_text())
    model = _models()[name]()
    result = tune_model(
        model,
        trials_per_task=trials,
        strategy=strategy,
        work_dir=out / "work" / path.stem,
        seed=seed,
        progress=False,
        weight_prepack=weight_prepack,
    )
    data = {**result.to_json(), "name": name, "strategy": label, "seed": seed}
    path.write_text(json.dumps(data, indent=2))
    print(f"{name} {label} s{seed}: tuned {data['tuned_ms']:.3f} ms in {data['tune_s']:.0f} s")
    return data


def _retime(name: str, trials: int, seed: int, prepacked: dict[str, bool], out: Path, rounds: int):
    """Every build of one model and the eager reference, each timed in a fresh process.

    ``prepacked`` maps each label that has a run of this model, budget and seed to whether that
    run tuned with weight prepacking (so its build is prepared the same way).

    Timing the builds in one process beside PyTorch moved whole-model latencies by up to 30 %
    between passes (two thread pools, allocator and cache state left by the previous build). Here
    each build is compiled once and exported as a library; every round starts one process per
    build (TVM only, no PyTorch) and one for eager (which never runs TVM), in a new random order.
    Returns per label the median of the rounds' medians and the rounds' max/min ratio.
    """
    import random

    import numpy as np
    import tvm

    from tvm_llm_sched.relax.pipeline import prepare_for_tuning, resolve_target
    from tvm_llm_sched.relax.tune_model import apply_records

    model = _models()[name]()
    target = resolve_target()
    build_dir = out / "retime" / f"{name}__s{seed}__t{trials}"
    build_dir.mkdir(parents=True, exist_ok=True)
    inputs = build_dir / "inputs.npz"
    np.savez(inputs, *model.inputs)
    prepared = {
        prepack: prepare_for_tuning(model.mod, target, weight_prepack=prepack)
        for prepack in set(prepacked.values())
    }
    libraries = {}
    for label, prepack in prepacked.items():
        work_dir = out / "work" / f"{name}__{label}__s{seed}__t{trials}"
        if work_dir.is_dir():
            libraries[label] = build_dir / f"{label}.so"
            applied = apply_records(prepared[prepack], work_dir, target, weight_prepack=prepack)
            tvm.compile(applied, target).export_library(str(libraries[label]))
    libraries["untuned"] = build_dir / "untuned.so"
    tvm.compile(model.mod, target).export_library(str(libraries["untuned"]))
    commands = {
        label: ["--time-build", str(library), str(inputs)] for label, library in libraries.items()
    }
    if model.reference is not None:
        commands["eager"] = ["--time-eager", name]
    times: dict[str, list[float]] = {label: [] for label in commands}
    for round_index in range(rounds):
        order = list(commands)
        random.Random(round_index).shuffle(order)
        for label in order:
            times[label].append(_time_in_fresh_process(commands[label]))
    return {label: (statistics.median(ms), max(ms) / min(ms)) for label, ms in times.items() if ms}


def _time_in_fresh_process(arguments: list[str]) -> float:
    """Run this script with ``arguments`` in a new interpreter; it prints one latency in ms."""
    import subprocess

    done = subprocess.run(
        [sys.executable, __file__, *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,  # a hung child must not hang the benchmark
    )
    if done.returncode != 0:
        raise RuntimeError(f"timing {arguments} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def _time_build(library: str, inputs: str) -> float:
    """Median latency (ms) of an exported Relax build's ``main`` on saved inputs."""
    import numpy as np
    import tvm

    from tvm_llm_sched.relax.tune_model import LoadedBuild

    with np.load(inputs) as arrays:
        values = [arrays[f"arr_{index}"] for index in range(len(arrays.files))]  # np.savez names
    return LoadedBuild.load(tvm.runtime.load_module(library), values).latency_ms()


def _time_eager(name: str) -> float:
    """Median latency (ms) of a PyTorch model's eager run (TVM only imports it, never runs it)."""
    from tvm_llm_sched.relax.tune_model import reference_latency_ms

    model = _models()[name]()
    latency = reference_latency_ms(model)
    if latency is None:
        raise SystemExit(f"{name} has no eager reference")
    return latency


def _retimed_table(retimed: dict, labels: list[str]) -> list[str]:
    """One row per model: every label's build, then the first label against the last and eager.
    Each cell is the median over rounds and, in brackets, the rounds' max/min ratio."""
    ours, base = labels[0], labels[-1]
    lines = [
        f"| model | trials/task | seed | {' | '.join(f'{label} ms' for label in labels)} | "
        f"untuned ms | PyTorch eager ms | {ours} vs {base} | {ours} vs eager |",
        "|---" * (len(labels) + 7) + "|",
    ]

    def cell(ms: dict, label: str) -> str:
        return f"{ms[label][0]:.3f} ({ms[label][1]:.2f})" if label in ms else "-"

    def ratio(ms: dict, slower: str, faster: str) -> str:
        return f"{ms[slower][0] / ms[faster][0]:.2f}x" if slower in ms and faster in ms else "-"

    for (name, trials, seed), ms in sorted(retimed.items()):
        lines.append(
            f"| {name} | {trials} | {seed} | {' | '.join(cell(ms, label) for label in labels)} | "
            f"{cell(ms, 'untuned')} | {cell(ms, 'eager')} | {ratio(ms, base, ours)} | "
            f"{ratio(ms, 'eager', ours)} |"
        )
    return lines


def _table(runs: list[dict], ours: str, base: str) -> list[str]:
    """One row per model, budget and strategy: the median over its runs (``seeds`` of them)."""
    lines = [
        "| model | tasks | trials/task | strategy | seeds | tuned ms | untuned ms | "
        "PyTorch eager ms | tuning s | vs untuned | vs PyTorch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["name"], r["trials_per_task"]) for r in runs})
    ratios = []
    for name, trials in keys:
        group = [r for r in runs if r["name"] == name and r["trials_per_task"] == trials]
        for strategy in sorted({r["strategy"] for r in group}, key=lambda s: (s != ours, s)):
            rows = [r for r in group if r["strategy"] == strategy]
            tuned = statistics.median(r["tuned_ms"] for r in rows)
            untuned = statistics.median(r["untuned_ms"] for r in rows)
            torch_ms = [r["reference_ms"] for r in rows if r["reference_ms"]]
            eager = statistics.median(torch_ms) if torch_ms else None
            lines.append(
                f"| {name} | {len(rows[0]['tasks'])} | {trials} | {strategy} | {len(rows)} | "
                f"{tuned:.3f} | {untuned:.3f} | {f'{eager:.3f}' if eager else '-'} | "
                f"{statistics.median(r['tune_s'] for r in rows):.0f} | {untuned / tuned:.2f}x | "
                f"{f'{eager / tuned:.2f}x' if eager else '-'} |"
            )
        by = {s: [r["tuned_ms"] for r in group if r["strategy"] == s] for s in (ours, base)}
        if all(by.values()):
            ratios.append((name, trials, statistics.median(by[base]) / statistics.median(by[ours])))
    lines.append("")
    for name, trials, ratio in ratios:
        lines.append(f"- {name} at {trials} trials/task: {ours} {ratio:.2f}x faster than {base}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run what is missing, then print (and optionally write) the section."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("--time-build", "--time-eager"):  # a re-timing child process
        latency = _time_build(*argv[1:]) if argv[0] == "--time-build" else _time_eager(argv[1])
        print(f"{latency:.6f}")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="decoder_block,encoder_layer,resnet_blocks")
    parser.add_argument(
        "--strategies",
        default="llm,evolutionary",
        help="comma-separated; LABEL:STRATEGY runs STRATEGY under LABEL (two commits in one --out)",
    )
    parser.add_argument("--trials", default="32", help="trials per task, comma-separated")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--out", required=True)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--retime", type=int, default=0, metavar="ROUNDS", help="re-time all builds interleaved"
    )
    parser.add_argument("--write-benchmarks", default=None)
    parser.add_argument(
        "--weight-prepack",
        action="store_true",
        help="tune these runs with weight prepacking (give them labels of their own)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    strategies = args.strategies.split(",")
    labels = [strategy.partition(":")[0] for strategy in strategies]
    if not args.report_only:
        for trials in (int(t) for t in args.trials.split(",")):
            for name in args.models.split(","):
                for seed in (int(s) for s in args.seeds.split(",")):
                    for strategy in strategies:
                        _run_one(name, strategy, trials, seed, out, args.weight_prepack)
    runs = [json.loads(p.read_text()) for p in sorted(out.glob("*__*.json"))]
    from tvm_llm_sched.hardware import detect_cpu, host_target

    cpu = detect_cpu(host_target())
    lines = [
        SECTION,
        "",
        f"Machine: {cpu.name}, {cpu.cores} cores. Each row: one `tune_model` run (extract tasks, "
        "MetaSchedule's gradient task scheduler, 16 trials per iteration, compile with the "
        "database applied, outputs checked against the untuned build and PyTorch); latencies are "
        "medians of 20 timed runs of the whole model (batch 1). `untuned` is the default "
        "`tvm.compile` pipeline without tuning.",
        "",
        "Recorded by each run (its own process, one after another; median over seeds):",
        "",
        *_table(runs, labels[0], labels[-1]),
    ]
    if args.retime:
        prepacked: dict[tuple, dict[str, bool]] = {}  # per model, budget and seed: label -> flag
        for r in runs:
            group = prepacked.setdefault((r["name"], r["trials_per_task"], r["seed"]), {})
            group[r["strategy"]] = r.get("weight_prepack", False)
        retimed = {
            group: _retime(
                *group,
                {label: flags[label] for label in labels if label in flags},
                out,
                args.retime,
            )
            for group, flags in sorted(prepacked.items())
        }
        lines += [
            "",
            f"Re-timed: {args.retime} rounds; in each, every build (exported library, TVM only) "
            "and PyTorch eager (no TVM run) timed in a fresh process of its own, in a new random "
            "order; median of the rounds' medians, in brackets the rounds' max/min:",
            "",
            *_retimed_table(retimed, labels),
        ]
    publish_section(lines, "python/bench_models.py", argv, SECTION, args.write_benchmarks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
