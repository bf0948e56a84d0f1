"""Compilation target for the host, with ``mcpu`` and ``num-cores`` filled in.

The llvm target without ``mcpu`` is generic x86-64 (no AVX-512), so every tuning entry point of
this package resolves targets through :func:`resolve_target`, which defaults to the host CPU.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

from ..errors import TargetError


def physical_cores() -> int:
    """Physical cores of this machine (logical CPUs if psutil cannot tell)."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:  # psutil is a dependency; this only guards odd installs
        cores = None
    return int(cores or os.cpu_count() or 1)


def host_target(**overrides: Any):
    """Return the llvm target of this machine in dict form.

    Parameters
    ----------
    **overrides
        Target attributes that replace the detected ones, e.g. ``num_cores=1`` or
        ``mcpu="skylake-avx512"`` (underscores become dashes).

    Returns
    -------
    tvm.target.Target
        ``{"kind": "llvm", "mcpu": <host cpu>, "num-cores": <physical cores>, ...}``.

    Examples
    --------
    >>> host_target().attrs["num-cores"] >= 1
    True
    """
    import tvm

    spec: dict[str, Any] = {
        "kind": "llvm",
        "mcpu": str(tvm.target.codegen.llvm_get_system_cpu()),
        "num-cores": physical_cores(),
    }
    spec.update({key.replace("_", "-"): value for key, value in overrides.items()})
    return _make_target(spec)


def _parse_cli_string(text: str) -> dict[str, Any]:
    """Turn ``"llvm -mcpu=x -num-cores 2"`` (the pre-0.24 CLI form TVM now rejects) into a dict."""
    tokens = shlex.split(text)
    if not tokens or tokens[0].startswith("-"):
        raise TargetError(
            f"invalid target {text!r}: it must start with a target kind such as 'llvm'"
        )
    spec: dict[str, Any] = {"kind": tokens[0]}
    index = 1
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("-"):
            raise TargetError(f"invalid target {text!r}: expected '-key=value', got {token!r}")
        key, eq, value = token.lstrip("-").partition("=")
        if not eq:
            if index + 1 >= len(tokens) or tokens[index + 1].startswith("-"):
                raise TargetError(f"invalid target {text!r}: option -{key} has no value")
            index += 1
            value = tokens[index]
        spec[key] = int(value) if value.lstrip("-").isdigit() else value
        index += 1
    return spec


def _make_target(spec: dict[str, Any]):
    import tvm

    try:
        target = tvm.target.Target(spec)
    except Exception as exc:  # TVM raises several error types for bad attributes
        raise TargetError(f"invalid target {json.dumps(spec, default=str)}: {exc}") from exc
    if target.kind.name == "llvm" and "mcpu" in spec:
        # LLVM only warns about an unknown CPU and then compiles for generic x86-64.
        with target:
            known = {str(name) for name in tvm.target.codegen.llvm_get_cpu_archlist()}
        if known and str(spec["mcpu"]) not in known:
            raise TargetError(f"invalid target: LLVM does not know mcpu={spec['mcpu']!r}")
    return target


def resolve_target(target: Any = None):
    """Turn a user's target into a ``tvm.target.Target``, defaulting to the host CPU.

    Parameters
    ----------
    target : str | dict | tvm.target.Target | None
        ``None`` or ``"host"``: :func:`host_target`. A dict or a JSON object string: used as
        given. A CLI-style string (``"llvm -mcpu=znver3 -num-cores 8"``): parsed into a dict.
        Plain ``"llvm"`` is completed with the host's ``mcpu`` and ``num-cores``, because a bare
        llvm target is generic x86-64.

    Raises
    ------
    TargetError
        If the target does not parse or TVM rejects it.
    """
    import tvm

    if isinstance(target, tvm.target.Target):
        return target
    if target is None or target == "host":
        return host_target()
    if isinstance(target, dict):
        return _make_target(dict(target))
    if not isinstance(target, str):
        raise TargetError(
            f"a target must be a str, dict or tvm.target.Target, not {type(target).__name__}"
        )
    text = target.strip()
    if text.startswith("{"):
        try:
            return _make_target(json.loads(text))
        except json.JSONDecodeError as exc:
            raise TargetError(f"invalid target JSON {text!r}: {exc}") from exc
    spec = _parse_cli_string(text)
    if spec["kind"] == "llvm" and "mcpu" not in spec:
        return host_target(**{key: value for key, value in spec.items() if key != "kind"})
    return _make_target(spec)


def target_to_dict(target: Any) -> dict[str, Any]:
    """A JSON-ready dict of ``target`` that :func:`resolve_target` turns back into an equal target.

    Examples
    --------
    >>> spec = target_to_dict(host_target(mcpu="skylake-avx512", **{"num-cores": 4}))
    >>> spec["kind"], spec["mcpu"], spec["num-cores"]
    ('llvm', 'skylake-avx512', 4)
    """

    def plain(value: Any) -> Any:
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        if hasattr(value, "items"):  # tvm_ffi Map
            return {str(k): plain(v) for k, v in value.items()}
        if hasattr(value, "__iter__"):  # tvm_ffi Array
            return [plain(v) for v in value]
        return str(value)

    return plain(resolve_target(target).export())
