"""``tvm-llm-sched serve-model``: a GGUF model behind an OpenAI-compatible endpoint on 127.0.0.1."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import typer

from .app import app


@app.command("serve-model")
def serve_model(
    gguf: Path = typer.Option(
        None,
        "--gguf",
        help="A GGUF file or a fine-tuned model dir; default: the bundled SmolLM2-135M-Instruct.",
    ),
    port: int = typer.Option(8080, "--port", min=0, help="Port on 127.0.0.1 (0: a free one)."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads (0: physical cores)."),
    ctx: int = typer.Option(4096, "--ctx", min=512, help="Context window in tokens."),
    seed: int = typer.Option(0, "--seed", min=0, help="Sampling seed."),
) -> None:
    """Serve a local model until Ctrl-C (needs the local-llm extra).

    Tune through it with TVM_LLM_SCHED_BASE_URL=<printed URL> TVM_LLM_SCHED_MODEL=<name>
    (and TVM_LLM_SCHED_PROFILE=compact TVM_LLM_SCHED_CONSTRAINED=1 for a small model), or let
    `tune --proposer local` start and stop one itself.
    """
    from ..serving.local_model import LocalModelError, LocalModelServer, LocalModelSettings

    settings = LocalModelSettings(
        gguf=None if gguf is None else str(gguf), port=port, threads=threads, ctx=ctx, seed=seed
    )
    try:
        server = LocalModelServer(settings).start()
    except LocalModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:  # from here on, Ctrl-C (even during the echo) ends in a clean stop
        typer.echo(f"serving {server.model} at {server.base_url}", err=True)
        # Poll, not one endless wait: Ctrl-C delivered to one of llama.cpp's threads only flags
        # the handler, which runs once the main thread wakes (an endless wait hung for good).
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _close_within(server, CLOSE_TIMEOUT_S)


CLOSE_TIMEOUT_S = 30.0
"""How long ``serve-model`` waits for the server to stop after Ctrl-C before exiting anyway."""


def _close_within(server: Any, timeout_s: float) -> None:
    """Stop ``server``; if the binding has not stopped it within ``timeout_s``, end the process.

    The process is exiting either way: a native server thread that does not stop must not keep
    the command alive (the port is released when the process ends).
    """
    closer = threading.Thread(target=server.close, daemon=True)
    closer.start()
    closer.join(timeout_s)
    if closer.is_alive():
        typer.echo(f"the server did not stop within {timeout_s:.0f} s: exiting anyway", err=True)
        os._exit(0)
