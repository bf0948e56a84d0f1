"""``tvm-llm-sched bench``: tuning curves of search strategies side by side."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..search.strategies import STRATEGY_NAMES
from .app import app


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(item) for item in _split(text))
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated integers, got {text!r}", param_hint=option
        ) from None


def _command_line() -> str:
    """How this was invoked, for the record: the script path or ``tvm-llm-sched``."""
    if sys.argv[0].endswith(".py"):
        return shlex.join(["python", *sys.argv])
    return shlex.join(["tvm-llm-sched", *sys.argv[1:]])


def _report_only(
    out: Path, budgets: tuple[int, ...], report: Path | None, notes: tuple[str, ...]
) -> None:
    """Summarize the finished runs in ``out`` (any workloads), credited to their own command."""
    from ..bench import load_results, write_outputs

    if not budgets or min(budgets) < 1:
        raise typer.BadParameter("trial budgets must be >= 1", param_hint="--trials")
    results = load_results(out)
    if not results.runs:
        typer.echo(f"no finished runs in {out}", err=True)
        raise typer.Exit(1)
    command = results.runs[0].command
    paths = write_outputs(results, budgets, out, report=report, command=command, notes=notes)
    written = ", ".join(f"{kind}: {path}" for kind, path in paths.items())
    typer.echo(f"{len(results.runs)} finished run(s); {written}")


@app.command()
def bench(
    workloads: str = typer.Option(
        "", help="Comma-separated 'NAME:IDX' te_workloads or TVMScript files (required to tune)."
    ),
    strategies: str = typer.Option(
        "evolutionary,replay-trace",
        help=f"Comma-separated: {', '.join(STRATEGY_NAMES)} or module:callable.",
    ),
    trials: str = typer.Option("16,32,64", help="Comma-separated trial budgets."),
    seeds: str = typer.Option("0", help="Comma-separated ms.tune_tir seeds."),
    out: str = typer.Option("bench_out", help="Output directory (reused to resume)."),
    num_trials_per_iter: int = typer.Option(
        16, help="Candidates per iteration, for every strategy."
    ),
    target: str = typer.Option(None, help="Target (default: the host with mcpu and num-cores)."),
    separate_budgets: bool = typer.Option(
        False, help="Tune each budget in its own run instead of reading it off the largest."
    ),
    builder: str = typer.Option(
        "lean", help="lean: LocalBuilder minus the per-worker tensor_intrin import; local: stock."
    ),
    builder_timeout: float = typer.Option(30.0, help="LocalBuilder timeout per candidate (s)."),
    report: str = typer.Option(
        None, help="Write the '## Tuning curves' Markdown section into this file (others kept)."
    ),
    report_only: bool = typer.Option(
        False,
        help="Tune nothing: summarize the finished runs in --out (works while a run is going).",
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    note: Annotated[
        list[str] | None, typer.Option(help="A caveat for the report (repeatable).")
    ] = None,
) -> None:
    """Tune a matrix of workloads x strategies x seeds and plot best latency vs trials and time."""
    from ..bench import BenchConfig, run_matrix, write_outputs
    from ..errors import TvmLlmSchedError

    if report_only:
        _report_only(
            Path(out), _ints(trials, "--trials"), report and Path(report), tuple(note or ())
        )
        return
    command = _command_line()
    try:
        config = BenchConfig(
            workloads=tuple(_split(workloads)),
            strategies=tuple(_split(strategies)),
            budgets=_ints(trials, "--trials"),
            seeds=_ints(seeds, "--seeds"),
            out_dir=Path(out),
            num_trials_per_iter=num_trials_per_iter,
            target=target,
            separate_budgets=separate_budgets,
            builder=builder,
            builder_timeout_s=builder_timeout,
            command=command,
        )
        results = run_matrix(config, progress=progress)
    except (TvmLlmSchedError, ValueError, FileExistsError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    paths = write_outputs(
        results,
        config.budgets,
        Path(out),
        report=report and Path(report),
        command=command,
        notes=tuple(note or ()),
    )
    written = ", ".join(f"{kind}: {path}" for kind, path in paths.items())
    typer.echo(f"{len(results.runs)} finished run(s); {written}")
