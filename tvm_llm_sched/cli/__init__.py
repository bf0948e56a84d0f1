"""Command-line entry point ``tvm-llm-sched``; importing a command module registers it."""

from __future__ import annotations

from . import (
    bench,  # noqa: F401
    dataset,  # noqa: F401
    finetune,  # noqa: F401
    info,  # noqa: F401
    ir,  # noqa: F401
    run_script,  # noqa: F401
    serve_model,  # noqa: F401
    serve_policy,  # noqa: F401
    tune,  # noqa: F401
    tune_model,  # noqa: F401
)
from .app import app


def main() -> None:
    """Run the ``tvm-llm-sched`` command line."""
    app()


__all__ = ["app", "main"]
