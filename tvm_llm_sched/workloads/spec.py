"""Turn a workload spec (``"GMM:1"``, a TVMScript file, an IRModule) into a tunable IRModule."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..errors import WorkloadError


@dataclasses.dataclass(frozen=True)
class Workload:
    """A named tensor program with a single PrimFunc.

    Attributes
    ----------
    name : str
        ``"GMM:1"`` for standard workloads, the file stem for TVMScript files.
    mod : tvm.IRModule
        The unscheduled program (one PrimFunc named ``main``).
    flops : float
        Floating-point operations of one run, as TVM estimates them.
    """

    name: str
    mod: Any
    flops: float

    @property
    def slug(self) -> str:
        """The name as a file-system friendly token (``GMM_1``)."""
        return self.name.replace(":", "_").replace("/", "_")


# TVM 0.27's C2D_WIN_NHWC goes through a removed TOPI path ("LEGACY-FLOW triggered").
_BROKEN_IN_TVM = frozenset({"C2D_WIN_NHWC"})


def standard_workload_names() -> list[str]:
    """Names of MetaSchedule's te_workload operators that TVM can build (C1D, C2D, ..., TBG)."""
    from tvm.s_tir.meta_schedule.testing.te_workload import CONFIGS

    return [name for name in CONFIGS if name not in _BROKEN_IN_TVM]


def _single_main(mod: Any, origin: str) -> Any:
    import tvm

    if isinstance(mod, tvm.tirx.PrimFunc):
        mod = tvm.IRModule({"main": mod.with_attr("global_symbol", "main")})
    funcs = [gv for gv, func in mod.functions.items() if isinstance(func, tvm.tirx.PrimFunc)]
    if len(funcs) != 1:
        raise WorkloadError(f"{origin}: expected exactly one PrimFunc, found {len(funcs)}")
    if funcs[0].name_hint != "main":
        mod = tvm.IRModule({"main": mod[funcs[0]].with_attr("global_symbol", "main")})
    return mod


def _from_standard(name: str, index: str) -> Any:
    from tvm.s_tir.meta_schedule.testing.te_workload import CONFIGS, create_te_workload

    key = name.upper()
    if key not in CONFIGS:
        raise WorkloadError(f"unknown workload {name!r}; choose from {', '.join(CONFIGS)}")
    try:
        idx = int(index)
    except ValueError as exc:
        raise WorkloadError(f"workload index must be an integer, got {index!r}") from exc
    count = len(CONFIGS[key][1])
    if not 0 <= idx < count:
        raise WorkloadError(f"workload {key} has indices 0..{count - 1}, got {idx}")
    try:
        return create_te_workload(key, idx)
    except Exception as exc:  # TOPI raises RuntimeError/TVMError for configurations it dropped
        raise WorkloadError(f"TVM cannot build workload {key}:{idx}: {exc}") from exc


def _from_file(path: Path) -> Any:
    import tvm
    from tvm.script import tirx as T  # noqa: F401  (makes T available to the parsed script)

    try:
        text = path.read_text()
    except OSError as exc:
        raise WorkloadError(f"cannot read TVMScript file {path}: {exc}") from exc
    try:
        parsed = tvm.script.from_source(text)
    except Exception as exc:  # the TVMScript parser raises its own diagnostics types
        raise WorkloadError(f"{path}: not valid TVMScript: {exc}") from exc
    if not isinstance(parsed, (tvm.IRModule, tvm.tirx.PrimFunc)):
        raise WorkloadError(f"{path}: expected a PrimFunc or IRModule, got {type(parsed).__name__}")
    return parsed


def load_workload(spec: Any) -> Workload:
    """Load a workload.

    Parameters
    ----------
    spec : str | pathlib.Path | tvm.IRModule | Workload
        ``"NAME:IDX"`` for a te_workload (``"GMM:1"``; ``"GMM"`` means index 0), a path to a
        TVMScript file holding one PrimFunc, an IRModule, or a Workload (returned as is).

    Raises
    ------
    WorkloadError
        For an unknown name or index, or a file that is not valid TVMScript.

    Examples
    --------
    >>> load_workload("GMM:1").name
    'GMM:1'
    """
    import tvm
    from tvm.s_tir.analysis import estimate_tir_flops

    if isinstance(spec, Workload):
        return spec
    if isinstance(spec, tvm.IRModule):
        name, mod = "module", spec
    elif isinstance(spec, (str, Path)) and (isinstance(spec, Path) or Path(spec).suffix == ".py"):
        path = Path(spec)
        name, mod = path.stem, _from_file(path)
    elif isinstance(spec, str):
        base, _, index = spec.partition(":")
        mod = _from_standard(base.strip(), index.strip() or "0")
        name = f"{base.strip().upper()}:{int(index or 0)}"
    else:
        raise WorkloadError(f"cannot make a workload from {type(spec).__name__}")
    mod = _single_main(mod, name)
    return Workload(name=name, mod=mod, flops=float(estimate_tir_flops(mod)))
