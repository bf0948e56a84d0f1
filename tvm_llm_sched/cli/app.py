"""The ``tvm-llm-sched`` Typer application; each command lives in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tvm-llm-sched",
    help="LLM- and expert-policy-guided tuning for Apache TVM MetaSchedule.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """LLM- and expert-policy-guided tuning for Apache TVM MetaSchedule."""
    # A callback keeps Typer in multi-command mode even while only one command is registered.
