"""``tvm-llm-sched run-script``: run an unmodified tuning script, LLMGuidedSearch switched in."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import typer

from .app import app


@app.command(
    "run-script",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run_script(
    ctx: typer.Context,
    script: Path = typer.Argument(..., exists=True, dir_okay=False, help="The Python script."),
    proposer: str = typer.Option(
        None, "--proposer", help="expert | openai | local | random (default: as LLMGuidedSearch)."
    ),
) -> None:
    """Run SCRIPT unmodified, LLM-guided: its default-strategy tuning uses LLMGuidedSearch.

    Arguments after SCRIPT go to the script. This is the process-wide form of ``use_strategy``.
    """
    from ..relax import clear_process_strategy, set_process_strategy
    from ..search import LLMGuidedSearch

    set_process_strategy(LLMGuidedSearch(proposer))
    saved_argv = sys.argv
    sys.argv = [str(script), *ctx.args]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = saved_argv
        sys.path.remove(str(script.resolve().parent))
        clear_process_strategy()
