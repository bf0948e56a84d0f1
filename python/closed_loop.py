"""The closed loop on one machine: tune -> step dataset -> fine-tune -> serve -> tune held-out.

    python python/closed_loop.py --out bench_out/loop \\
        --train-workloads C1D:1,DEP:0,NRM:1 --heldout GMM:1,C2D:1,SFM:1

Stages (each skipped when its output exists, so an interrupted loop resumes):

1. ``train_runs/``: LLMGuidedSearch (expert policy) on the training workloads, or the work dirs
   given with ``--train-work-dirs`` (e.g. earlier benchmarks' raw data);
2. ``dataset/``: ``tvm-llm-sched dataset build --format chat --profile compact``;
3. ``base/`` and ``finetuned/``: the base model written through the fine-tune's export path (same
   serving path and precision as the fine-tuned one) and ``tvm-llm-sched finetune``;
4. ``reply_quality.json``: both models asked the dataset's validation prompts unconstrained;
5. ``heldout/{base,finetuned,controls}/``: the held-out workloads tuned with each model
   (constrained decoding, the local model's budget) and the controls (``random`` with the same
   budget, proposer off, expert policy), interleaved per workload;
6. ``report.md``: first-batch and final best latency, wall time, parse and apply rates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a source checkout

VARIANTS = "tvm_llm_sched.bench.variants"
CONTROLS = f"{VARIANTS}:llm_random_local_budget,llm-no-proposer,llm"


def _run(args: list[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, env={**os.environ, **(env or {})})


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from tvm_llm_sched.cli import main; main()", *args]


TUNE_PYTHON = sys.executable
"""The interpreter of the tuning runs (``--tune-python``)."""


def _bench(out: Path, workloads: str, strategies: str, trials: str, seeds: str) -> list[str]:
    return [
        TUNE_PYTHON,
        str(ROOT / "python" / "bench_tuning.py"),
        "--workloads",
        workloads,
        "--strategies",
        strategies,
        "--trials",
        trials,
        "--seeds",
        seeds,
        "--out",
        str(out),
        "--no-progress",
    ]


def _train_work_dirs(args: argparse.Namespace) -> list[str]:
    if args.train_work_dirs:
        return args.train_work_dirs
    runs = args.out / "train_runs"
    if not (runs / "results.json").is_file():
        _run(_bench(runs, args.train_workloads, "llm", str(args.train_trials), "0"))
    return sorted(str(p) for p in (runs / "work").iterdir())


def _models(args: argparse.Namespace, dataset: Path) -> dict[str, Path]:
    from tvm_llm_sched.training import export_base_model

    base, tuned = args.out / "base", args.out / "finetuned"
    if not (base / "model.gguf").is_file():
        export_base_model("bundled", base, dtype=args.dtype)
    # finetune returns at once when the directory holds this fine-tune, finished, and resumes
    # an interrupted one
    extra = ["--max-samples", str(args.max_samples)] if args.max_samples else []
    epochs = ["--epochs", str(args.epochs), "--dtype", args.dtype]
    _run(_cli("finetune", str(dataset), "--out", str(tuned), *epochs, *extra))
    return {"base": base, "finetuned": tuned}


def _reply_quality(args: argparse.Namespace, dataset: Path, models: dict[str, Path]) -> None:
    path = args.out / "reply_quality.json"
    if path.is_file():
        return
    from tvm_llm_sched.serving.local_model import LocalModelServer, LocalModelSettings
    from tvm_llm_sched.training import reply_quality

    result = {}
    for name, directory in models.items():
        with LocalModelServer(LocalModelSettings(gguf=str(directory))) as server:
            quality = reply_quality(server.base_url, server.model, dataset, limit=args.eval_prompts)
        result[name] = {"prompts": quality.prompts, **quality.rates()}
        print(name, result[name], flush=True)
    path.write_text(json.dumps(result, indent=1))


def _heldout(args: argparse.Namespace, models: dict[str, Path]) -> None:
    root = args.out / "heldout"
    for workload in args.heldout.split(","):
        for name, directory in models.items():
            env = {"TVM_LLM_SCHED_GGUF": str(directory)}
            out = root / name
            _run(_bench(out, workload, f"{VARIANTS}:llm_local", args.trials, args.seeds), env)
        _run(_bench(root / "controls", workload, CONTROLS, args.trials, args.seeds))


def _report(args: argparse.Namespace) -> str:
    rows = []
    for group in ("base", "finetuned", "controls"):
        for run in sorted((args.out / "heldout" / group / "runs").glob("*.json")):
            data = json.loads(run.read_text())
            trials = [t for it in data["iterations"] for t in it["trials"]]
            first = data["iterations"][0]["trials"][-1]["best_us"] if trials else None
            stats = data.get("proposer") or {}
            label = data["strategy"] if group == "controls" else f"SmolLM2 {group}"
            rows.append(
                (
                    data["workload"],
                    label,
                    data["seed"],
                    first,
                    trials[-1]["best_us"] if trials else None,
                    data["wall_s"],
                    stats.get("parse_rate"),
                    stats.get("apply_rate"),
                )
            )
    rows.sort()

    def num(value: float | None, fmt: str) -> str:
        return "" if value is None else format(value, fmt)

    lines = [
        "| workload | proposer | seed | first batch (us) | best (us) | wall (s) | parse | apply |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w, label, seed, first, best, wall, parse, apply in rows:
        lines.append(
            f"| {w} | {label} | {seed} | {num(first, '.1f')} | {num(best, '.1f')} | "
            f"{num(wall, '.0f')} | {num(parse, '.2f')} | {num(apply, '.2f')} |"
        )
    quality = args.out / "reply_quality.json"
    if quality.is_file():
        lines += ["", "Unconstrained replies to the dataset's validation prompts:", ""]
        lines += ["| model | prompts | parse | on menu | the dataset's step |"]
        lines += ["| --- | ---: | ---: | ---: | ---: |"]
        for name, q in json.loads(quality.read_text()).items():
            lines.append(
                f"| {name} | {q['prompts']} | {q['parse_rate']:.2f} | {q['on_menu_rate']:.2f} | "
                f"{q['match_rate']:.2f} |"
            )
    finetune = args.out / "finetuned" / "finetune.json"
    if finetune.is_file():
        result = json.loads(finetune.read_text()).get("result", {})
        lines += ["", f"Fine-tune: {json.dumps(result)}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train-workloads", default="C1D:1,DEP:0,NRM:1")
    parser.add_argument("--train-trials", type=int, default=64)
    parser.add_argument("--train-work-dirs", nargs="*", default=None)
    parser.add_argument("--heldout", default="GMM:1,C2D:1,SFM:1")
    parser.add_argument("--trials", default="16,64")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-samples", type=int, default=None)
    parser.add_argument("--dtype", default="f16")
    parser.add_argument("--eval-prompts", type=int, default=40)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--tune-python",
        default=sys.executable,
        help="Python of the tuning runs, e.g. one without PyTorch (tvm_ffi imports torch when it "
        "can, which slows every TVM process start)",
    )
    args = parser.parse_args()
    global TUNE_PYTHON
    TUNE_PYTHON = args.tune_python
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        dataset = args.out / "dataset"
        if not (dataset / "card.json").is_file():
            work_dirs = _train_work_dirs(args)
            _run(
                _cli(
                    "dataset", "build", *work_dirs, "--out", str(dataset),
                    "--format", "chat", "--profile", "compact", "--no-progress",
                )
            )  # fmt: skip
        models = _models(args, dataset)
        _reply_quality(args, dataset, models)
        _heldout(args, models)
    report = _report(args)
    (args.out / "report.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
