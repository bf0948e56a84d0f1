"""The hashing/dedup interface shared by the native and the pure-Python backend.

Both backends subclass :class:`HashBackend` and :class:`DedupSet`. The public methods
here validate the input once, the same way for both backends, and delegate to a small
``_``-prefixed hook, so the two implementations can only differ in speed.

Hashes are XXH64 (seed 0) of the UTF-8 bytes, as a *signed* int64 (the two's complement
of the unsigned digest) because tvm-ffi integers and numpy ``int64`` arrays are signed.
"""

from __future__ import annotations

import abc
import operator
from collections.abc import Iterable, Sequence
from typing import ClassVar, TypeVar

import numpy as np

Text = TypeVar("Text", str, bytes)

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
_DLPACK_CPU = 1  # DLDeviceType kDLCPU


def check_text(text: object, what: str = "text") -> str | bytes:
    """Return ``text`` if it is ``str`` or ``bytes``; raise ``TypeError`` otherwise."""
    if not isinstance(text, (str, bytes)):
        raise TypeError(f"{what} must be str or bytes, got {type(text).__name__}")
    return text


def utf8(text: object) -> bytes:
    """The UTF-8 bytes of a ``str``, a ``bytes`` as is; ``TypeError`` for anything else."""
    if isinstance(text, str):
        return text.encode()
    if isinstance(text, bytes):
        return text
    raise TypeError(f"each text must be str or bytes, got {type(text).__name__}")


def check_texts(texts: object) -> Sequence[str | bytes]:
    """Return ``texts`` as a list or tuple; items are checked by the backend."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of str/bytes, not a single str/bytes")
    if isinstance(texts, (list, tuple)):
        return texts
    if not isinstance(texts, Iterable):
        raise TypeError(f"texts must be a sequence of str/bytes, got {type(texts).__name__}")
    return list(texts)


def check_reserved(reserved: object) -> tuple[str, ...]:
    """Return the reserved words as a tuple of ``str``.

    A bare string is rejected: iterating it would silently reserve single letters.
    """
    if isinstance(reserved, (str, bytes)) or not isinstance(reserved, Iterable):
        raise TypeError(
            f"reserved must be an iterable of str (e.g. a tuple), got {type(reserved).__name__}"
        )
    words = tuple(reserved)
    for word in words:
        if not isinstance(word, str):
            raise TypeError(f"reserved words must be str, got {type(word).__name__}")
    return words


def check_hash(value: object) -> int:
    """Return ``value`` as a Python int in the int64 range (``TypeError``/``ValueError``)."""
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:  # fast path for the common case
        return value
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("a hash must be an int, got bool")
    try:
        h = operator.index(value)
    except TypeError:
        raise TypeError(f"a hash must be an int, got {type(value).__name__}") from None
    if not INT64_MIN <= h <= INT64_MAX:
        raise ValueError(f"a hash must fit in a signed int64, got {h}")
    return h


def as_hash_array(hashes: object) -> np.ndarray:
    """Return ``hashes`` as a 1-D C-contiguous CPU int64 numpy array, without copying.

    Accepts a numpy array or any object with ``__dlpack__`` (torch, tvm-ffi tensors...).
    """
    if isinstance(hashes, np.ndarray):
        arr = hashes
    elif hasattr(hashes, "__dlpack__"):
        device = getattr(hashes, "__dlpack_device__", None)
        if device is not None and int(device()[0]) != _DLPACK_CPU:
            raise ValueError(f"hashes must live on the CPU, got DLPack device {device()}")
        try:
            arr = np.from_dlpack(hashes)
        except (BufferError, RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(f"hashes must be a CPU tensor readable through DLPack: {exc}") from exc
    else:
        raise TypeError(
            "hashes must be a 1-D int64 numpy array or a DLPack tensor, "
            f"got {type(hashes).__name__} (use np.asarray(x, dtype=np.int64))"
        )
    if arr.dtype != np.int64:
        raise TypeError(f"hashes must have dtype int64, got {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"hashes must be 1-D, got {arr.ndim}-D")
    if not arr.flags.c_contiguous:
        raise ValueError("hashes must be C-contiguous (use np.ascontiguousarray)")
    return arr


class DedupSet(abc.ABC):
    """A thread-safe set of int64 hashes that reports which inserts were new.

    ``DedupSet()`` builds the active backend's set (see ``tvm_llm_sched.native_backend()``);
    ``DedupSet(backend="python")`` picks one explicitly.

    Examples
    --------
    >>> import numpy as np
    >>> from tvm_llm_sched.native import DedupSet
    >>> seen = DedupSet()
    >>> seen.insert(42), seen.insert(42), 42 in seen
    (True, False, True)
    >>> seen.insert_many(np.array([1, 42, 1], dtype=np.int64)).tolist()
    [True, False, False]
    >>> len(seen)
    2
    """

    backend_name: ClassVar[str]

    def __new__(cls, *, backend: str | None = None) -> DedupSet:
        if cls is DedupSet:
            from .backend import get_backend  # deferred: backend.py imports this module

            cls = get_backend(backend).dedup_set_type
        elif backend is not None and backend != cls.backend_name:
            raise ValueError(f"{cls.__name__} is the {cls.backend_name!r} backend, not {backend!r}")
        return super().__new__(cls)

    def __init__(self, *, backend: str | None = None) -> None:
        del backend  # consumed by __new__

    def insert(self, h: int) -> bool:
        """Insert one hash; return ``True`` if it was not in the set."""
        return self._insert(check_hash(h))

    def contains(self, h: int) -> bool:
        """Return whether the hash is in the set."""
        return self._contains(check_hash(h))

    def __contains__(self, h: object) -> bool:
        return self.contains(h)  # type: ignore[arg-type]

    def insert_many(self, hashes: object) -> np.ndarray:
        """Insert a batch of hashes in one call.

        Parameters
        ----------
        hashes
            1-D C-contiguous int64 CPU array (numpy, or anything with ``__dlpack__``).

        Returns
        -------
        numpy.ndarray
            ``bool`` array: ``out[i]`` is whether ``hashes[i]`` was new. Of duplicates
            within the batch, only the first occurrence is new.
        """
        arr = as_hash_array(hashes)
        out = np.empty(arr.shape[0], dtype=np.bool_)
        self._insert_many(arr, out)
        return out

    def __len__(self) -> int:
        return self._size()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={len(self)})"

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove every hash."""

    @abc.abstractmethod
    def _insert(self, h: int) -> bool: ...

    @abc.abstractmethod
    def _contains(self, h: int) -> bool: ...

    @abc.abstractmethod
    def _insert_many(self, hashes: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out`` (bool, same length) with which ``hashes`` were new."""

    @abc.abstractmethod
    def _size(self) -> int: ...


class HashBackend(abc.ABC):
    """One implementation of text hashing, canonical hashing and dedup.

    Get instances from ``tvm_llm_sched.native.backends()`` / ``get_backend()``.

    Examples
    --------
    >>> from tvm_llm_sched.native import get_backend
    >>> py = get_backend("python")
    >>> py.hash_text("abc") == py.hash_text(b"abc")
    True
    >>> py.canonical_text("for i in 0..8: A[i] = exp(B[i])", reserved=("for", "in"))
    'for #0 in 0..8: #1[#0] = exp(#2[#0])'
    """

    name: ClassVar[str]
    dedup_set_type: ClassVar[type[DedupSet]]

    def hash_text(self, text: str | bytes) -> int:
        """XXH64 (seed 0) of the UTF-8 bytes of ``text``, as a signed int64."""
        return self._hash_text(check_text(text))

    def hash_many(self, texts: Iterable[str | bytes]) -> np.ndarray:
        """``hash_text`` of every item, as an int64 array, in one backend call."""
        texts = check_texts(texts)
        out = np.empty(len(texts), dtype=np.int64)
        self._hash_many(texts, (), out, canonical=False)
        return out

    def canonical_text(self, text: Text, reserved: Iterable[str] = ()) -> Text:
        """Naming-invariant form of step-level IR text (``str`` in, ``str`` out; same for bytes).

        On the UTF-8 bytes, every maximal run of ASCII ``[A-Za-z0-9_]`` that starts with a
        letter or ``_`` is an identifier. An identifier is kept if it is in ``reserved``
        or directly followed by ``(`` (``exp(``, ``max(``); any other becomes ``#k``, k the
        index of its first occurrence among replaced identifiers. All other bytes (numbers
        such as ``1e-05``, punctuation, non-ASCII, NUL) are copied unchanged.
        """
        return self._canonical_text(check_text(text), check_reserved(reserved))  # type: ignore[return-value]

    def canonical_hash(self, text: str | bytes, reserved: Iterable[str] = ()) -> int:
        """``hash_text(canonical_text(text, reserved))``."""
        return self._canonical_hash(check_text(text), check_reserved(reserved))

    def canonical_hash_many(
        self, texts: Iterable[str | bytes], reserved: Iterable[str] = ()
    ) -> np.ndarray:
        """``canonical_hash`` of every item, as an int64 array, in one backend call."""
        texts = check_texts(texts)
        words = check_reserved(reserved)
        out = np.empty(len(texts), dtype=np.int64)
        self._hash_many(texts, words, out, canonical=True)
        return out

    def dedup_set(self) -> DedupSet:
        """A new, empty :class:`DedupSet` of this backend."""
        return self.dedup_set_type()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @abc.abstractmethod
    def _hash_text(self, text: str | bytes) -> int: ...

    @abc.abstractmethod
    def _hash_many(
        self,
        texts: Sequence[str | bytes],
        reserved: tuple[str, ...],
        out: np.ndarray,
        *,
        canonical: bool,
    ) -> None:
        """Fill ``out`` with (canonical, if asked) hashes; raise ``TypeError`` on bad items."""

    @abc.abstractmethod
    def _canonical_text(self, text: str | bytes, reserved: tuple[str, ...]) -> str | bytes: ...

    @abc.abstractmethod
    def _canonical_hash(self, text: str | bytes, reserved: tuple[str, ...]) -> int: ...
