"""The one-line hardware description that prompts show next to the rendered state."""

from __future__ import annotations

from typing import Any


def hardware_summary(target: Any = None) -> str:
    """One line describing the CPU a target compiles for.

    Parameters
    ----------
    target : tvm.target.Target | str | dict | None
        Anything :func:`~tvm_llm_sched.hardware.resolve_target` accepts (``None``: the host).

    Returns
    -------
    str
        ``cpu=<mcpu> cores=<n> simd=<bits>bit (<lanes> x f32) fma=yes|no L1d=.. L2=.. L3=..``
        (:meth:`~tvm_llm_sched.hardware.CpuInfo.summary`).

    Raises
    ------
    TargetError
        If the target does not parse.

    Examples
    --------
    >>> hardware_summary().startswith("cpu=")
    True
    """
    from ..hardware import detect_cpu

    return detect_cpu(target).summary()
