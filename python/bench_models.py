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
        "decoder_block": examples.decoder_block,
        "encoder_layer": examples.torch_encoder_layer,
        "resnet_blocks": examples.torch_resnet_blocks,
    }


def _run_one(name: str, label: str, trials: int, seed: int, out: Path) -> dict:
    """One run; ``label`` is a strategy name or ``LABEL:STRATEGY`` (e.g. ``llm-new:llm``, to
    keep runs of two commits apart in one ``out``)."""
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
    )
    data = {**result.to_json(), "name": name, "strategy": label, "seed": seed}
    path.write_text(json.dumps(data, indent=2))
    print(f"{name} {label} s{seed}: tuned {data['tuned_ms']:.3f} ms in {data['tune_s']:.0f} s")
    return data


def _retime(name: str, trials: int, seed: int, labels: list[str], out: Path, rounds: int):
    """Every build of one model side by side in this process: the strategies' tuned builds, the
    untuned build and the eager reference, timed in ``rounds`` interleaved rounds (medians)."""
    import tvm

    from tvm_llm_sched.relax.pipeline import prepare_for_tuning, resolve_target
    from tvm_llm_sched.relax.tune_model import LoadedBuild, apply_records, reference_latency_ms

    model = _models()[name]()
    target = resolve_target()
    prepared = prepare_for_tuning(model.mod, target)
    builds = {}
    for label in labels:
        work_dir = out / "work" / f"{name}__{label}__s{seed}__t{trials}"
        if work_dir.is_dir():
            applied = apply_records(prepared, work_dir, target)
            builds[label] = LoadedBuild.load(tvm.compile(applied, target), model.inputs)
    builds["untuned"] = LoadedBuild.load(tvm.compile(model.mod, target), model.inputs)
    times: dict[str, list[float]] = {label: [] for label in [*builds, "eager"]}
    for _ in range(rounds):
        for label, build in builds.items():
            times[label].append(build.latency_ms())
        eager = reference_latency_ms(model)
        if eager is not None:
            times["eager"].append(eager)
    return {label: statistics.median(v) for label, v in times.items() if v}


def _retimed_table(retimed: dict, labels: list[str]) -> list[str]:
    """One row per model: every label's build, then the first label against the last and eager."""
    ours, base = labels[0], labels[-1]
    lines = [
        f"| model | trials/task | {' | '.join(f'{label} ms' for label in labels)} | untuned ms | "
        f"PyTorch eager ms | {ours} vs {base} | {ours} vs eager |",
        "|---" * (len(labels) + 6) + "|",
    ]
    for (name, trials), ms in sorted(retimed.items()):
        eager = ms.get("eager")
        lines.append(
            f"| {name} | {trials} | "
            f"{' | '.join(f'{ms[label]:.3f}' if label in ms else '-' for label in labels)} | "
            f"{ms['untuned']:.3f} | {f'{eager:.3f}' if eager else '-'} | "
            f"{f'{ms[base] / ms[ours]:.2f}x' if ours in ms and base in ms else '-'} | "
            f"{f'{eager / ms[ours]:.2f}x' if eager and ours in ms else '-'} |"
        )
    return lines


def _table(runs: list[dict], ours: str, base: str) -> list[str]:
    lines = [
        "| model | tasks | trials/task | strategy | tuned ms | untuned ms | PyTorch eager ms | "
        "tuning s | vs untuned | vs PyTorch |",
        "|---|---|---|---|---|---|---|---|---|---|",
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
                f"| {name} | {len(rows[0]['tasks'])} | {trials} | {strategy} | {tuned:.3f} | "
                f"{untuned:.3f} | {f'{eager:.3f}' if eager else '-'} | "
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
                        _run_one(name, strategy, trials, seed, out)
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
        "Recorded by each run (its own process, one after another):",
        "",
        *_table(runs, labels[0], labels[-1]),
    ]
    if args.retime:
        groups = sorted({(r["name"], r["trials_per_task"], r["seed"]) for r in runs})
        retimed = {
            (name, trials): _retime(name, trials, seed, labels, out, args.retime)
            for name, trials, seed in groups
        }
        lines += [
            "",
            f"Re-timed: every build of a model in one process, {args.retime} interleaved rounds "
            "(median of the rounds' medians):",
            "",
            *_retimed_table(retimed, labels),
        ]
    publish_section(lines, "python/bench_models.py", argv, SECTION, args.write_benchmarks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
