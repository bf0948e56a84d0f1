"""Native backend: the C++ extension in ``cpp/``, called through the tvm-ffi registry.

The library registers ``tvm_llm_sched.*`` global functions when loaded. This module holds
those functions privately, so callers only see Python ints, strings and numpy arrays.
Lists of texts cross the boundary packed into a uint8 buffer (one call per ``PACK_CHUNK``
texts, never one per text): converting a list of ``str`` to an ffi ``Array`` costs more per
item than hashing it in pure Python.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tvm_ffi

from .interface import DedupSet, HashBackend, utf8

_PREFIX = "tvm_llm_sched."
# Texts per packed FFI call. One call for a whole 10^6-item list is ~2x slower on the
# 2-core VM: the joined buffers (tens of MB) are fresh memory, paid for in page faults,
# while chunks this size stay in cache and the allocator reuses them.
PACK_CHUNK = 16384
_FUNCTION_NAMES = (
    "hash_text",
    "hash_many",
    "canonical_text",
    "canonical_hash",
    "canonical_hash_many",
    "dedup_set_new",
    "dedup_set_insert",
    "dedup_set_contains",
    "dedup_set_insert_many",
    "dedup_set_size",
    "dedup_set_clear",
)


class _Ffi:
    """The loaded library and its registered functions, as attributes (looked up once)."""

    def __init__(self, library: Path) -> None:
        tvm_ffi.load_module(str(library))
        self.library = library
        for name in _FUNCTION_NAMES:
            func = tvm_ffi.get_global_func(_PREFIX + name, allow_missing=True)
            if func is None:
                raise RuntimeError(f"{library} does not register {_PREFIX + name}")
            setattr(self, name, func)

    def __getattr__(self, name: str) -> Any:  # only reached for names not set above
        raise AttributeError(f"no native function {_PREFIX + name}")


_loaded: _Ffi | None = None
_load_lock = threading.Lock()


def load_library(path: Path) -> _Ffi:
    """Load the extension at ``path`` once per process and look up its functions.

    Raises
    ------
    RuntimeError
        If a different library was already loaded or a function is missing.
    OSError
        If the file cannot be loaded.
    """
    global _loaded
    with _load_lock:
        if _loaded is None:
            _loaded = _Ffi(path)
        elif _loaded.library != path:
            raise RuntimeError(f"native library already loaded from {_loaded.library}")
        return _loaded


def _ffi() -> _Ffi:
    if _loaded is None:
        raise RuntimeError("the native library is not loaded (see tvm_llm_sched.native.backends())")
    return _loaded


@functools.lru_cache(maxsize=64)
def _reserved_array(reserved: tuple[str, ...]) -> Any:
    return tvm_ffi.convert(list(reserved))


def pack_texts(
    texts: Sequence[str | bytes], *, nul_separated: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the UTF-8 bytes of ``texts`` into one writable uint8 array.

    Returns ``(data, offsets)``: item i is ``data[offsets[i]:offsets[i + 1]]``, or, when
    ``offsets`` is empty, the i-th NUL-separated piece of ``data``. The NUL form (asked for
    with ``nul_separated`` and given when the texts are all ``str`` or all ``bytes``) is one
    C-level join and encode with no per-item Python work; it is only right if no text holds
    NUL, which the C++ side checks (UTF-8 never produces a 0 byte otherwise). ``data`` is a
    ``bytearray`` view: DLPack cannot export a read-only ``bytes`` buffer.
    """
    n = len(texts)
    if nul_separated and n:
        no_offsets = np.empty(0, dtype=np.int64)
        try:
            joined = "\0".join(texts)  # type: ignore[arg-type]
        except TypeError:
            joined = None
        if joined is not None:
            return np.frombuffer(bytearray(joined, "utf-8"), dtype=np.uint8), no_offsets
        if all(type(t) is bytes for t in texts):  # bytearray, memoryview... are rejected
            data = bytearray(b"\0".join(texts))  # type: ignore[arg-type]
            return np.frombuffer(data, dtype=np.uint8), no_offsets
    parts = [utf8(t) for t in texts]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=n), out=offsets[1:])
    return np.frombuffer(bytearray().join(parts), dtype=np.uint8), offsets


class NativeDedupSet(DedupSet):
    """:class:`~tvm_llm_sched.native.interface.DedupSet` backed by the C++ ``DedupSet``.

    Locking happens in C++ (tvm-ffi calls release the GIL).
    """

    backend_name = "native"

    def __init__(self, *, backend: str | None = None) -> None:
        super().__init__(backend=backend)
        self._ffi = _ffi()
        self._handle = self._ffi.dedup_set_new()

    def _insert(self, h: int) -> bool:
        return self._ffi.dedup_set_insert(self._handle, h)

    def _contains(self, h: int) -> bool:
        return self._ffi.dedup_set_contains(self._handle, h)

    def _insert_many(self, hashes: np.ndarray, out: np.ndarray) -> None:
        self._ffi.dedup_set_insert_many(
            self._handle, tvm_ffi.from_dlpack(hashes), tvm_ffi.from_dlpack(out)
        )

    def _size(self) -> int:
        return self._ffi.dedup_set_size(self._handle)

    def clear(self) -> None:
        """Remove every hash."""
        self._ffi.dedup_set_clear(self._handle)


class NativeBackend(HashBackend):
    """:class:`~tvm_llm_sched.native.interface.HashBackend` over the C++ extension.

    Parameters
    ----------
    library
        Path of the built extension (``libtvm_llm_sched_native.so`` or platform equivalent).
    """

    name = "native"
    dedup_set_type = NativeDedupSet

    def __init__(self, library: Path) -> None:
        self._ffi = load_library(library)

    @property
    def library(self) -> Path:
        """The loaded extension file."""
        return self._ffi.library

    def __repr__(self) -> str:
        return f"NativeBackend(library={str(self.library)!r})"

    def _hash_text(self, text: str | bytes) -> int:
        return self._ffi.hash_text(text)

    def _hash_many(
        self,
        texts: Sequence[str | bytes],
        reserved: tuple[str, ...],
        out: np.ndarray,
        *,
        canonical: bool,
    ) -> None:
        words = _reserved_array(reserved) if canonical else None
        for start in range(0, len(texts), PACK_CHUNK):
            chunk = texts[start : start + PACK_CHUNK]
            chunk_out = tvm_ffi.from_dlpack(out[start : start + PACK_CHUNK])
            # NUL-separated first; False means some text holds NUL: re-pack with offsets.
            for nul_separated in (True, False):
                data, offsets = pack_texts(chunk, nul_separated=nul_separated)
                args = (tvm_ffi.from_dlpack(data), tvm_ffi.from_dlpack(offsets))
                if words is None:
                    done = self._ffi.hash_many(*args, chunk_out)
                else:
                    done = self._ffi.canonical_hash_many(*args, words, chunk_out)
                if done:
                    break

    def _canonical_text(self, text: str | bytes, reserved: tuple[str, ...]) -> str | bytes:
        return self._ffi.canonical_text(text, _reserved_array(reserved))

    def _canonical_hash(self, text: str | bytes, reserved: tuple[str, ...]) -> int:
        return self._ffi.canonical_hash(text, _reserved_array(reserved))
