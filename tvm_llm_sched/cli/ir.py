"""``tvm-llm-sched ir``: a workload's step-level IR, its legal-step menu, its size vs TVMScript."""

from __future__ import annotations

import typer

from .app import app


@app.command()
def ir(
    workload: str = typer.Option(..., "--workload", "-w", help='"GMM:1" or a TVMScript file.'),
    design_space: int = typer.Option(
        None, "--design-space", "-d", help="Show MetaSchedule design space N (sampled) instead."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the sampled design-space decisions."),
    menu_limit: int = typer.Option(30, "--menu", min=0, help="Legal steps to list."),
    target: str = typer.Option(None, "--target", help="Target; default: host CPU with mcpu."),
) -> None:
    """Print the state, the hardware line, the step menu and the size ratio vs TVMScript."""
    from ..errors import TvmLlmSchedError
    from ..hardware import resolve_target
    from ..ir import hardware_summary, render, token_proxy
    from ..steps import State, legal_steps
    from ..tvm_compat import preload_tensor_intrin
    from ..workloads import load_workload

    try:
        loaded = load_workload(workload)
        resolved = resolve_target(target)
        if design_space is None:
            state = State.initial(loaded.mod)
        else:
            preload_tensor_intrin()
            spaces = State.design_spaces(loaded.mod, resolved, rand_state=seed)
            if not 0 <= design_space < len(spaces):
                raise typer.BadParameter(
                    f"there are {len(spaces)} design spaces (0..{len(spaces) - 1})"
                )
            state = spaces[design_space]
    except TvmLlmSchedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    text = render(state.schedule)
    script = state.schedule.mod.script()
    typer.echo(f"# {loaded.name}  |  {hardware_summary(resolved)}")
    typer.echo(text)
    if menu_limit:
        typer.echo("\n# legal steps")
        for step in legal_steps(state, resolved, limit=menu_limit):
            typer.echo(step.to_text())
    typer.echo(
        f"\n# size: {len(text)} chars vs {len(script)} in TVMScript "
        f"({len(script) / len(text):.1f}x); tokens (proxy) {token_proxy(text)} vs "
        f"{token_proxy(script)} ({token_proxy(script) / token_proxy(text):.1f}x)"
    )
