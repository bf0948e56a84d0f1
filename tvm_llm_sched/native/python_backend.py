"""Pure-Python backend: ``xxhash`` for XXH64, ``re`` for canonical text, a locked ``set``.

Bit-identical to the C++ extension in ``cpp/`` (the tests compare them directly); used
when the extension is not built or ``TVM_LLM_SCHED_NATIVE=0``.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence

import numpy as np
import xxhash

from .interface import DedupSet, HashBackend, utf8

# Same rule as cpp/canonical.h: maximal ASCII word runs, on bytes. Splitting with a
# capture group alternates [gap, run, gap, run, ..., gap], so the byte after run i is
# the first byte of gap i + 1.
_WORD_RUNS = re.compile(rb"([A-Za-z0-9_]+)")
_DIGITS = frozenset(b"0123456789")


@functools.lru_cache(maxsize=64)
def _reserved_bytes(reserved: tuple[str, ...]) -> frozenset[bytes]:
    return frozenset(word.encode() for word in reserved)


def _canonical_bytes(data: bytes, reserved: frozenset[bytes]) -> bytes:
    parts = _WORD_RUNS.split(data)
    renamed: dict[bytes, bytes] = {}
    for i in range(1, len(parts), 2):
        run = parts[i]
        if run[0] in _DIGITS or run in reserved or parts[i + 1][:1] == b"(":
            continue
        new = renamed.get(run)
        if new is None:
            new = renamed[run] = b"#%d" % len(renamed)
        parts[i] = new
    return b"".join(parts)


def _signed_xxh64(data: bytes) -> int:
    h = xxhash.xxh64_intdigest(data)
    return h - (1 << 64) if h >= (1 << 63) else h


class PythonDedupSet(DedupSet):
    """:class:`~tvm_llm_sched.native.interface.DedupSet` over a Python ``set`` and a lock."""

    backend_name = "python"

    def __init__(self, *, backend: str | None = None) -> None:
        super().__init__(backend=backend)
        self._seen: set[int] = set()
        self._lock = threading.Lock()

    def _insert(self, h: int) -> bool:
        with self._lock:
            if h in self._seen:
                return False
            self._seen.add(h)
            return True

    def _contains(self, h: int) -> bool:
        with self._lock:
            return h in self._seen

    def _insert_many(self, hashes: np.ndarray, out: np.ndarray) -> None:
        with self._lock:
            seen = self._seen
            add = seen.add
            # `not add(h)` is always True; it runs only when `h not in seen` held.
            out[:] = [h not in seen and not add(h) for h in hashes.tolist()]

    def _size(self) -> int:
        with self._lock:
            return len(self._seen)

    def clear(self) -> None:
        """Remove every hash."""
        with self._lock:
            self._seen.clear()


class PythonBackend(HashBackend):
    """Pure-Python :class:`~tvm_llm_sched.native.interface.HashBackend`."""

    name = "python"
    dedup_set_type = PythonDedupSet

    def _hash_text(self, text: str | bytes) -> int:
        return _signed_xxh64(utf8(text))

    def _hash_many(
        self,
        texts: Sequence[str | bytes],
        reserved: tuple[str, ...],
        out: np.ndarray,
        *,
        canonical: bool,
    ) -> None:
        digest = xxhash.xxh64_intdigest
        if canonical:
            words = _reserved_bytes(reserved)
            digests = (digest(_canonical_bytes(utf8(t), words)) for t in texts)
        else:
            digests = (digest(utf8(t)) for t in texts)
        # Unsigned digests reinterpreted as int64: the same bits as the C++ cast.
        out.view(np.uint64)[:] = np.fromiter(digests, dtype=np.uint64, count=len(texts))

    def _canonical_text(self, text: str | bytes, reserved: tuple[str, ...]) -> str | bytes:
        data = _canonical_bytes(utf8(text), _reserved_bytes(reserved))
        return data.decode() if isinstance(text, str) else data

    def _canonical_hash(self, text: str | bytes, reserved: tuple[str, ...]) -> int:
        return _signed_xxh64(_canonical_bytes(utf8(text), _reserved_bytes(reserved)))
