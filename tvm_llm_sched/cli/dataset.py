"""``tvm-llm-sched dataset``: build, summarise and verify step-level datasets from work dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from .app import app

dataset_app = typer.Typer(
    help="Step-level training data from MetaSchedule tuning databases.", no_args_is_help=True
)
app.add_typer(dataset_app, name="dataset")


def _run_with_bar(label: str, unit: str, enabled: bool, job: Callable[[Any], Any]) -> Any:
    """``job(progress)`` under a tqdm bar (when enabled); a package error exits with code 2."""
    from ..errors import TvmLlmSchedError

    bar = None
    if enabled:
        from tqdm import tqdm

        bar = tqdm(desc=label, unit=unit, leave=False)

    def progress(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()

    try:
        return job(progress if bar is not None else None)
    except TvmLlmSchedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        if bar is not None:
            bar.close()


@dataset_app.command("build")
def build(
    work_dirs: list[Path] = typer.Argument(..., help="MetaSchedule work dirs (any strategy)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    formats: str = typer.Option(
        "chat,steptp,pairs", "--format", help="Comma-separated: chat, steptp, pairs."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the kind caps and the split."),
    profile: str = typer.Option(
        "full",
        "--profile",
        help="Prompt profile of the chat and pairs turns: full (the search's default for model "
        "proposers: 30-step menu, tagged replies), full-json, no-menu.",
    ),
    max_edits: int = typer.Option(3, "--max-edits", min=1, help="Longest decision trajectory."),
    min_speedup: float = typer.Option(
        1.05, "--min-speedup", min=1.0, help="A chat target must be at least this much faster."
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Processes (0: one per CPU)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Build a dataset from WORK_DIRS into --out (samples, formats, card)."""
    from ..dataset import DatasetConfig, build_dataset
    from ..proposers.prompts import PROMPT_PROFILES

    if profile not in PROMPT_PROFILES:
        raise typer.BadParameter(
            f"unknown profile {profile!r}; choose from {list(PROMPT_PROFILES)}"
        )
    try:
        config = DatasetConfig(
            formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
            seed=seed,
            profile=PROMPT_PROFILES[profile],
            max_edits=max_edits,
            min_speedup=min_speedup,
            jobs=jobs,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    def build_with(bar: Any) -> Any:
        return build_dataset(work_dirs, out, config, progress=bar)

    report = _run_with_bar("building", "task", progress, build_with)
    typer.echo(
        f"{report.samples} samples from {report.records} records in {report.seconds:.1f} s "
        f"-> {report.out}"
    )
    for name, count in sorted(report.lines.items()):
        typer.echo(f"  {name}.jsonl  {count}")
    dropped = report.counts["dropped"]
    if dropped:
        typer.echo("  dropped: " + ", ".join(f"{k} {v}" for k, v in dropped.items()))
    typer.echo(f"  card: {report.out / 'card.md'}")


@dataset_app.command("stats")
def stats(directory: Path = typer.Argument(..., help="A dataset directory.")) -> None:
    """Print a dataset's counts per kind, split and format file."""
    from ..dataset import dataset_stats

    summary = _run_with_bar("reading", "file", False, lambda _: dataset_stats(directory))
    card = summary.pop("card")
    typer.echo(json.dumps(summary, indent=2))
    if card.get("command"):
        typer.echo(f"made by: {card['command']}")


@dataset_app.command("verify")
def verify(
    directory: Path = typer.Argument(..., help="A dataset directory."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Replay every sample; exit 1 if any fails."""
    from ..dataset import verify_dataset

    report = _run_with_bar(
        "verifying", "sample", progress, lambda bar: verify_dataset(directory, progress=bar)
    )
    typer.echo(
        f"{report.passed} of {report.samples} samples replay ({100 * report.rate:.1f} %)"
        + (f"; {report.malformed} malformed lines" if report.malformed else "")
    )
    for reason, count in report.failures.items():
        typer.echo(f"  {reason}: {count}")
    if report.passed != report.samples or report.malformed:
        raise typer.Exit(1)
