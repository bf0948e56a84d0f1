"""``tvm-llm-sched finetune``: fine-tune the local model on a step-level dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app


@app.command("finetune")
def finetune_command(
    dataset_dir: Path = typer.Argument(
        ..., help="A dataset dir (`dataset build --profile compact`)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write (or resume)."),
    base: str = typer.Option(
        "bundled", "--base", help="'bundled' (SmolLM2-135M-Instruct), a GGUF file or a model dir."
    ),
    epochs: float = typer.Option(1.0, "--epochs", min=0.01, help="Passes over the examples."),
    lora: bool = typer.Option(True, "--lora/--full", help="LoRA adapters, or every weight."),
    max_samples: int = typer.Option(None, "--max-samples", min=1, help="A seeded subset."),
    max_steps: int = typer.Option(None, "--max-steps", min=1, help="Stop after N steps."),
    max_length: int = typer.Option(2048, "--max-length", min=64, help="Drop longer examples."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Examples per step."),
    learning_rate: float = typer.Option(None, "--learning-rate", help="Default 2e-4 / 2e-5."),
    profile: str = typer.Option("compact", "--profile", help="The serving prompt profile."),
    dtype: str = typer.Option("f16", "--dtype", help="GGUF weight precision: f16 or f32."),
    seed: int = typer.Option(0, "--seed", help="Seed of the subset, order and adapters."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads (0: physical cores)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Fine-tune on the dataset's chat split; serve the result with `serve-model --gguf OUT`
    or tune with `TVM_LLM_SCHED_GGUF=OUT tvm-llm-sched tune ... --proposer local`."""
    from ..errors import TvmLlmSchedError
    from ..training import FinetuneConfig, finetune

    try:
        config = FinetuneConfig(
            epochs=epochs,
            lora=lora,
            max_samples=max_samples,
            max_steps=max_steps,
            max_length=max_length,
            batch_size=batch_size,
            learning_rate=learning_rate,
            profile=profile,
            dtype=dtype,
            seed=seed,
            threads=threads,
        )
    except ValueError as exc:  # an invalid setting
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        result = finetune(dataset_dir, out, config, base=base)
    except TvmLlmSchedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=1))
        return

    def loss(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    typer.echo(
        f"trained on {result.train_samples} examples ({result.dropped_samples} too long), "
        f"{result.steps} steps in {result.seconds:.0f} s ({result.samples_per_second:.2f} "
        f"examples/s){', resumed' if result.resumed else ''}\n"
        f"validation loss {loss(result.validation_loss_before)} -> "
        f"{loss(result.validation_loss_after)}\n"
        f"serve it: tvm-llm-sched serve-model --gguf {result.model_dir}"
    )
