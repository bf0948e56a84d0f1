"""Hashing and dedup: a C++ extension on tvm-ffi with a bit-identical pure-Python fallback.

``hash_text``/``hash_many`` (XXH64 as signed int64), ``canonical_text``/``canonical_hash``
(naming-invariant hashes of step-level IR text) and ``DedupSet`` use the native backend
when it was built (``native_backend() == "native"``), else pure Python.
``backends()`` exposes both implementations side by side.
"""

from __future__ import annotations

from .backend import (
    backends,
    canonical_hash,
    canonical_hash_many,
    canonical_text,
    find_library,
    get_backend,
    hash_many,
    hash_text,
    native_backend,
    native_library_path,
)
from .interface import DedupSet, HashBackend

__all__ = [
    "DedupSet",
    "HashBackend",
    "backends",
    "canonical_hash",
    "canonical_hash_many",
    "canonical_text",
    "find_library",
    "get_backend",
    "hash_many",
    "hash_text",
    "native_backend",
    "native_library_path",
]
