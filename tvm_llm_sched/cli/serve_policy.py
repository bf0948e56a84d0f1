"""``tvm-llm-sched serve-policy``: the embedded expert policy as an OpenAI-compatible endpoint."""

from __future__ import annotations

import typer

from .app import app


@app.command("serve-policy")
def serve_policy(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8000, help="Port to listen on (0 picks a free one)."),
    model: str = typer.Option("expert-policy", help="The model name the server reports."),
) -> None:
    """Serve the embedded expert policy as an OpenAI-compatible endpoint until Ctrl-C.

    Set TVM_LLM_SCHED_BASE_URL to the printed URL to tune through it.
    """
    from ..serving import PolicyServer

    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: binding {host}: the policy server has no authentication", err=True)
    server = PolicyServer(host=host, port=port, model=model)
    server.serve_forever(ready=lambda url: typer.echo(f"serving {model} at {url}", err=True))
