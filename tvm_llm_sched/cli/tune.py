"""``tvm-llm-sched tune``: tune a workload and print a verified summary."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import typer

from ..search.strategies import STRATEGY_NAMES
from .app import app


@app.command()
def tune(
    workload: str = typer.Option(
        None, "--workload", "-w", help='"GMM:1" or a TVMScript file (with --replay: optional).'
    ),
    trials: int = typer.Option(64, "--trials", "-n", min=1, help="Trials to measure."),
    strategy: str = typer.Option(
        "llm", "--strategy", "-s", help=f"{' | '.join(STRATEGY_NAMES)} | module:callable"
    ),
    target: str = typer.Option(None, "--target", help="Target; default: host CPU with mcpu."),
    work_dir: Path = typer.Option(
        None, "--work-dir", help="Default: work_dirs/<workload>-<strategy>."
    ),
    per_iter: int = typer.Option(16, "--num-trials-per-iter", min=1),
    seed: int = typer.Option(None, "--seed"),
    proposer: str = typer.Option(
        None,
        "--proposer",
        help="expert | openai | local | random (default: endpoint if configured, else expert).",
    ),
    profile: str = typer.Option(
        None, "--profile", help="Prompt profile of a model proposer: full | compact | ..."
    ),
    constrained: bool = typer.Option(
        None,
        "--constrained/--unconstrained",
        help="Decode a model's reply under a schema of the legal steps (default: local only).",
    ),
    max_tokens: int = typer.Option(None, "--max-tokens", min=1, help="Reply token cap."),
    temperature: float = typer.Option(None, "--temperature", min=0.0, help="Model sampling."),
    gguf: Path = typer.Option(
        None, "--gguf", help="--proposer local: the GGUF file (or fine-tuned model dir) to serve."
    ),
    confirm_top: int = typer.Option(
        4,
        "--confirm-top",
        min=1,
        help="Re-time this many of the fastest verified records side by side and return the one "
        "with the lowest median (1: the database's best record as measured).",
    ),
    confirm_rounds: int = typer.Option(3, "--confirm-rounds", min=1, help="Re-timing rounds."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    record: Path = typer.Option(
        None, "--record", help="Record settings, measurements and model replies in this directory."
    ),
    replay: Path = typer.Option(
        None,
        "--replay",
        help="Replay a run recorded with --record: no model, no measuring; settings come from it.",
    ),
    rpc_tracker: str = typer.Option(
        None, "--rpc-tracker", help="host:port of an RPC tracker: time candidates on its devices."
    ),
    rpc_key: str = typer.Option(None, "--rpc-key", help="Device key the RPC servers registered."),
    rpc_timeout: float = typer.Option(60.0, "--rpc-timeout", help="RPC session timeout (s)."),
) -> None:
    """Tune WORKLOAD; print best latency, GFLOP/s, speedup and where the records are."""
    from ..errors import TvmLlmSchedError
    from ..tune import rpc_runner, tune_workload

    if workload is None and replay is None:
        typer.echo("error: --workload is required (unless --replay names a recorded run)", err=True)
        raise typer.Exit(2)
    if (rpc_tracker is None) != (rpc_key is None):
        typer.echo("error: --rpc-tracker and --rpc-key go together", err=True)
        raise typer.Exit(2)
    # The model settings travel as their environment variables, so every proposer this run
    # creates (one per task of a multi-task run) reads the same ones.
    overrides = {
        "PROFILE": profile,
        "CONSTRAINED": None if constrained is None else str(int(constrained)),
        "MAX_TOKENS": max_tokens,
        "TEMPERATURE": temperature,
        "GGUF": gguf,
    }
    saved = dict(os.environ)
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"TVM_LLM_SCHED_{name}"] = str(value)
    try:
        runner = (
            rpc_runner(rpc_tracker, rpc_key, session_timeout_s=rpc_timeout)
            if rpc_tracker is not None
            else None
        )
        result = tune_workload(
            workload,
            trials=trials,
            strategy=strategy,
            target=target,
            work_dir=work_dir,
            num_trials_per_iter=per_iter,
            seed=seed,
            proposer=proposer,
            record_to=record,
            replay_from=replay,
            runner=runner,
            confirm_top=confirm_top,
            confirm_rounds=confirm_rounds,
        )
    except (TvmLlmSchedError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:  # a caller running this command in-process keeps its own environment
        os.environ.clear()
        os.environ.update(saved)
    if as_json:
        fields = {k: v for k, v in vars(result).items() if k != "schedule"}
        if result.confirmation is not None:
            fields["confirmation"] = dataclasses.asdict(result.confirmation)
        typer.echo(json.dumps({**fields, "speedup": result.speedup}, indent=2))
    else:
        typer.echo(result.summary())
