"""``tvm-llm-sched tune-model``: tune a whole model (``.pt2`` or Relax TVMScript) end to end."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..search.strategies import STRATEGY_NAMES
from .app import app


@app.command("tune-model")
def tune_model(
    model: Path = typer.Argument(..., help="A torch.export file (.pt2) or a Relax TVMScript file."),
    trials: int = typer.Option(64, "--trials", "-n", min=1, help="Trials per task."),
    strategy: str = typer.Option(
        "llm", "--strategy", "-s", help=f"{' | '.join(STRATEGY_NAMES)} | module:callable"
    ),
    proposer: str = typer.Option(
        None, "--proposer", help="expert | openai | local | random (llm strategies)."
    ),
    target: str = typer.Option(None, "--target", help="Target; default: host CPU with mcpu."),
    work_dir: Path = typer.Option(
        None, "--work-dir", help="Default: work_dirs/<model>-<strategy>."
    ),
    per_iter: int = typer.Option(16, "--num-trials-per-iter", min=1),
    seed: int = typer.Option(None, "--seed"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="A bar per task."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    weight_prepack: bool = typer.Option(
        False,
        "--weight-prepack/--no-weight-prepack",
        help="Let schedules store weights in the layout they read (TVM's cpu_weight_prepack).",
    ),
) -> None:
    """Tune MODEL's tasks, compile with the records, check outputs, print latencies and tasks."""
    from ..errors import TvmLlmSchedError
    from ..relax import load_model
    from ..relax import tune_model as run

    try:
        loaded = load_model(model)
        result = run(
            loaded,
            trials_per_task=trials,
            strategy=strategy,
            proposer=proposer,
            target=target,
            work_dir=work_dir or Path("work_dirs") / f"{loaded.name}-{strategy}",
            num_trials_per_iter=per_iter,
            seed=seed,
            progress=progress,
            quiet=progress or as_json,  # JSON on stdout must not follow MetaSchedule's log lines
            weight_prepack=weight_prepack,
        )
    except (TvmLlmSchedError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result.to_json(), indent=2) if as_json else result.summary())
