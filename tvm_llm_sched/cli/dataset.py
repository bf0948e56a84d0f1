"""``tvm-llm-sched dataset``: build, summarise and verify step-level datasets from work dirs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app

dataset_app = typer.Typer(
    help="Step-level training data from MetaSchedule tuning databases.", no_args_is_help=True
)
app.add_typer(dataset_app, name="dataset")


def _bar(total_hint: str, enabled: bool):  # noqa: ANN202 - a tqdm bar or None
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(desc=total_hint, unit="edge", leave=False)


def _progress(bar):  # noqa: ANN001, ANN202
    if bar is None:
        return None

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update


@dataset_app.command("build")
def build(
    work_dirs: list[Path] = typer.Argument(..., help="MetaSchedule work dirs (any strategy)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    formats: str = typer.Option(
        "chat,steptp,pairs", "--format", help="Comma-separated: chat, steptp, pairs."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the kind caps and the split."),
    menu: int = typer.Option(
        30, "--menu", min=0, help="Legal steps in the user turn (the proposer's prompt profile)."
    ),
    json_mode: bool = typer.Option(
        False, "--json-mode", help="Replies as one JSON object instead of <think>/<answer> tags."
    ),
    max_edits: int = typer.Option(3, "--max-edits", min=1, help="Longest decision trajectory."),
    min_speedup: float = typer.Option(
        1.05, "--min-speedup", min=1.0, help="A chat target must be at least this much faster."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Build a dataset from WORK_DIRS into --out (samples, formats, card)."""
    from ..dataset import DatasetConfig, build_dataset
    from ..errors import TvmLlmSchedError

    try:
        config = DatasetConfig(
            formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
            seed=seed,
            menu_limit=menu,
            json_mode=json_mode,
            max_edits=max_edits,
            min_speedup=min_speedup,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    bar = _bar("replaying", progress)
    try:
        report = build_dataset(work_dirs, out, config, progress=_progress(bar))
    except TvmLlmSchedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        if bar is not None:
            bar.close()
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
    from ..errors import TvmLlmSchedError

    try:
        summary = dataset_stats(directory)
    except TvmLlmSchedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
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
    from ..errors import TvmLlmSchedError

    bar = _bar("verifying", progress)
    try:
        report = verify_dataset(directory, progress=_progress(bar))
    except TvmLlmSchedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        if bar is not None:
            bar.close()
    typer.echo(
        f"{report.passed} of {report.samples} samples replay ({100 * report.rate:.1f} %)"
        + (f"; {report.malformed} malformed lines" if report.malformed else "")
    )
    for reason, count in report.failures.items():
        typer.echo(f"  {reason}: {count}")
    if report.passed != report.samples or report.malformed:
        raise typer.Exit(1)
