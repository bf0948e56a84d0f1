"""``tvm-llm-sched serve-model``: a GGUF model behind an OpenAI-compatible endpoint on 127.0.0.1."""

from __future__ import annotations

import threading
from pathlib import Path

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
    typer.echo(f"serving {server.model} at {server.base_url}", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
