"""Models to tune end to end: a saved ``torch.export`` program (``.pt2``) or a Relax TVMScript file,
as a Relax module with static-shape example inputs (and PyTorch's own output when it came from
PyTorch)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DependencyError, ModelError

TORCH_HINT = "pip install 'tvm-llm-sched[torch]' (PyTorch CPU)"


@dataclasses.dataclass
class Model:
    """A Relax module ready to tune, with inputs to check and time it on.

    Attributes
    ----------
    name : str
        A label (the file's stem).
    mod : tvm.IRModule
        The module; its ``main`` takes ``inputs`` (weights bound as constants).
    inputs : list[numpy.ndarray]
        Example inputs, one per parameter of ``main``.
    reference : Callable | None
        Computes the source framework's outputs (e.g. PyTorch eager) from ``inputs``; None for a
        TVMScript model.
    source : str
        ``"torch"``, ``"tvmscript"`` or ``"relax"``.
    """

    name: str
    mod: Any
    inputs: list[np.ndarray]
    reference: Callable[[Sequence[np.ndarray]], list[np.ndarray]] | None = None
    source: str = "relax"


def example_inputs(mod: Any, *, seed: int = 0, func: str = "main") -> list[np.ndarray]:
    """Random inputs shaped like ``mod[func]``'s parameters.

    Raises
    ------
    ModelError
        ``func`` is missing, or a parameter is not a tensor of static shape (MetaSchedule tunes
        static shapes only).
    """
    from tvm import relax

    if func not in [gv.name_hint for gv in mod.get_global_vars()]:
        raise ModelError(f"the module has no '{func}' function to run")
    rng = np.random.default_rng(seed)
    arrays = []
    for param in mod[func].params:
        ty = param.ty  # TVM 0.27's Relax types (StructInfo is gone)
        if not isinstance(ty, relax.TensorType) or not isinstance(ty.shape, relax.ShapeExpr):
            raise ModelError(f"input '{param.name}' is not a tensor with a known shape: {ty}")
        try:
            shape = [int(dim) for dim in ty.shape.values]
        except (TypeError, ValueError):
            raise ModelError(
                f"input '{param.name}' has a dynamic shape {ty.shape}: MetaSchedule tunes "
                "static shapes only (export the model with fixed sizes)"
            ) from None
        dtype = np.dtype(str(ty.dtype))
        if dtype.kind == "f":
            arrays.append(rng.standard_normal(shape).astype(dtype))
        elif dtype.kind in "iu":
            arrays.append(rng.integers(0, 8, size=shape).astype(dtype))
        elif dtype.kind == "b":
            arrays.append(rng.integers(0, 2, size=shape).astype(dtype))
        else:
            raise ModelError(f"input '{param.name}' has an unsupported dtype {dtype}")
    return arrays


def from_torch(module: Any, args: Sequence[Any], *, name: str = "model") -> Model:
    """Export a ``torch.nn.Module`` with ``args`` and import it (see :func:`from_exported`)."""
    torch = require_torch()
    module = module.eval()
    # No fused fast path (aten._transformer_encoder_layer_fwd), which TVM's importer lacks.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad():
            exported = torch.export.export(module, tuple(args))
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return from_exported(exported, name=name)


def from_exported(exported: Any, *, name: str = "model", seed: int = 0) -> Model:
    """A ``torch.export.ExportedProgram`` as a :class:`Model`; PyTorch eager is the reference.

    Raises
    ------
    ModelError
        The importer does not support an operator of the program, or an input is dynamic.
    """
    torch = require_torch()
    from tvm.relax.frontend.torch import from_exported_program

    try:
        mod = from_exported_program(exported, unwrap_unit_return_tuple=True)
    except (AssertionError, KeyError, NotImplementedError, ValueError) as exc:
        raise ModelError(f"TVM's PyTorch importer cannot import '{name}': {exc}") from exc
    inputs = example_inputs(mod, seed=seed)
    program = exported.module()

    def reference(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            out = program(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.detach().numpy() for o in outs]

    return Model(name=name, mod=mod, inputs=inputs, reference=reference, source="torch")


def load_model(path: str | Path, *, seed: int = 0) -> Model:
    """Load a ``.pt2`` file (``torch.export.save``) or a Relax TVMScript file.

    Raises
    ------
    ModelError
        The file is missing or does not load, or its module cannot be tuned as it is.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no model file at {path}")
    if path.suffix == ".pt2":
        torch = require_torch()
        try:
            exported = torch.export.load(str(path))
        except Exception as exc:  # torch raises many kinds for a bad archive
            raise ModelError(f"cannot load {path} with torch.export.load: {exc}") from exc
        return from_exported(exported, name=path.stem, seed=seed)
    import tvm
    from tvm.script import from_source

    try:
        mod = from_source(path.read_text())
    except Exception as exc:  # the parser raises DiagnosticError and friends
        raise ModelError(f"{path} is not a Relax TVMScript module: {exc}") from exc
    if not isinstance(mod, tvm.IRModule):
        raise ModelError(f"{path} holds a {type(mod).__name__}, not an IRModule")
    return Model(name=path.stem, mod=mod, inputs=example_inputs(mod, seed=seed), source="tvmscript")


def require_torch() -> Any:
    """The ``torch`` module, or a :class:`DependencyError` naming the install command."""
    try:
        import torch
    except ImportError:
        raise DependencyError(f"PyTorch models need PyTorch: {TORCH_HINT}") from None
    return torch
