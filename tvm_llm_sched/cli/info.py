"""``tvm-llm-sched info``: versions, native backend and the detected target."""

from __future__ import annotations

import json

import typer

from .app import app


@app.command()
def info(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    measure_peak: bool = typer.Option(
        False, "--measure-peak", help="Also time a TVM-built FMA loop on every core (~2 s)."
    ),
) -> None:
    """Show package versions, the hashing backend and the host target."""
    import tvm
    import tvm_ffi

    from .. import __version__, native_backend
    from ..hardware import detect_cpu, host_target, use_target_cores
    from ..hardware.peak import measure_fp32_peak

    target = host_target()
    cpu = detect_cpu(target)
    facts = {
        "tvm_llm_sched": __version__,
        "apache_tvm": tvm.__version__,
        "apache_tvm_ffi": tvm_ffi.__version__,
        "native_backend": native_backend(),
        "target": json.loads(str(target)) if str(target).startswith("{") else str(target),
        "cpu": cpu.summary(),
        "fp32_peak": cpu.peak_formula,
    }
    if measure_peak:
        use_target_cores(target)
        peak = measure_fp32_peak(target)
        facts["measured_fp32_peak"] = (
            f"{peak.gflops:.1f} GFLOP/s on {peak.threads} thread(s) (FMA loop built by TVM; "
            f"the formula's peak at {peak.implied_clock_ghz:.2f} GHz)"
        )
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
        return
    for key, value in facts.items():
        typer.echo(f"{key:>15}: {value if not isinstance(value, dict) else json.dumps(value)}")
