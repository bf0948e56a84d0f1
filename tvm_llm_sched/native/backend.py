"""Backend selection: the native extension when it is built, else pure Python.

Chosen once, at import. ``TVM_LLM_SCHED_NATIVE=0`` forces the pure-Python backend (the
library is then not even loaded). ``TVM_LLM_SCHED_NATIVE_LIB=/path/to/lib.so`` loads a
specific build.

Where the library is looked for, in order:

1. next to this file (the installed wheel: scikit-build-core puts it there);
2. in the installed ``tvm-llm-sched`` distribution, when this package is imported from a
   source checkout (``python -m pytest`` from the repo root puts the checkout first on
   ``sys.path``, and the checkout holds no compiled library).
"""

from __future__ import annotations

import importlib.metadata
import os
import warnings
from pathlib import Path

from .interface import HashBackend
from .python_backend import PythonBackend

_LIB_STEM = "tvm_llm_sched_native"
_LIB_SUFFIXES = (".so", ".dylib", ".dll")
_DIST_NAME = "tvm-llm-sched"


def _library_in(directory: Path) -> Path | None:
    for suffix in _LIB_SUFFIXES:
        for prefix in ("lib", ""):
            path = directory / f"{prefix}{_LIB_STEM}{suffix}"
            if path.is_file():
                return path
    return None


def _library_in_distribution() -> Path | None:
    try:
        files = importlib.metadata.distribution(_DIST_NAME).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if _LIB_STEM in file.name and file.suffix in _LIB_SUFFIXES:
            path = Path(str(file.locate())).resolve()
            if path.is_file():
                return path
    return None


def find_library() -> Path | None:
    """Path of the compiled extension, or ``None`` if there is none to load."""
    override = os.environ.get("TVM_LLM_SCHED_NATIVE_LIB")
    if override:
        return Path(override).resolve()
    return _library_in(Path(__file__).resolve().parent) or _library_in_distribution()


def _native_disabled() -> bool:
    return os.environ.get("TVM_LLM_SCHED_NATIVE", "1").strip().lower() in (
        "0",
        "false",
        "off",
        "no",
    )


def _load_backends() -> dict[str, HashBackend]:
    found: dict[str, HashBackend] = {"python": PythonBackend()}
    if _native_disabled():
        return found
    library = find_library()
    if library is None:
        return found
    from .ffi_backend import NativeBackend  # imports tvm_ffi only when there is a library

    try:
        found["native"] = NativeBackend(library)
    except (OSError, RuntimeError, ImportError) as exc:
        warnings.warn(
            f"tvm_llm_sched: cannot load the native extension {library} ({exc}); "
            "using the pure-Python backend",
            RuntimeWarning,
            stacklevel=2,
        )
    return found


_BACKENDS = _load_backends()
_ACTIVE: HashBackend = _BACKENDS.get("native", _BACKENDS["python"])


def backends() -> dict[str, HashBackend]:
    """Every loaded backend by name: always ``"python"``, plus ``"native"`` when built.

    Examples
    --------
    >>> from tvm_llm_sched.native import backends
    >>> impls = backends()
    >>> len({impl.hash_text("x") for impl in impls.values()})
    1
    """
    return dict(_BACKENDS)


def get_backend(name: str | None = None) -> HashBackend:
    """The backend called ``name``, or the active one for ``None``.

    Raises
    ------
    ValueError
        If ``name`` is unknown or that backend is not available in this process.
    """
    if name is None:
        return _ACTIVE
    try:
        return _BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"hash backend {name!r} is not available; available: {sorted(_BACKENDS)}"
        ) from None


def native_backend() -> str:
    """Return ``"native"`` or ``"python"``: which backend the module-level functions use."""
    return _ACTIVE.name


def native_library_path() -> Path | None:
    """The loaded extension file, or ``None`` when running on the pure-Python backend."""
    native = _BACKENDS.get("native")
    return getattr(native, "library", None)


# Module-level API: bound methods of the active backend (no per-call dispatch cost).
hash_text = _ACTIVE.hash_text
hash_many = _ACTIVE.hash_many
canonical_text = _ACTIVE.canonical_text
canonical_hash = _ACTIVE.canonical_hash
canonical_hash_many = _ACTIVE.canonical_hash_many
