"""Bad input raises TypeError/ValueError in both backends (and in the C++ backstop)."""

from __future__ import annotations

import numpy as np
import pytest

from tvm_llm_sched.native import HashBackend


class _GpuTensor:
    """A DLPack producer that lives on CUDA (device type 2)."""

    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, 0)

    def __dlpack__(self, **kwargs: object) -> object:
        raise BufferError("not on the CPU")


@pytest.mark.parametrize("text", [None, 5, 1.5, ["a"], bytearray(b"a")])
def test_hash_text_wrong_type(impl: HashBackend, text: object) -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        impl.hash_text(text)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str or bytes"):
        impl.canonical_hash(text)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str or bytes"):
        impl.canonical_text(text)  # type: ignore[type-var]


@pytest.mark.parametrize(
    "texts", ["abc", b"abc", None, 5, ["a", 1], ["a", None], [b"a", bytearray(b"b")]]
)
def test_hash_many_wrong_type(impl: HashBackend, texts: object) -> None:
    with pytest.raises(TypeError):
        impl.hash_many(texts)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        impl.canonical_hash_many(texts)  # type: ignore[arg-type]


@pytest.mark.parametrize("reserved", ["for", b"for", 5, ["for", 1], [None]])
def test_reserved_wrong_type(impl: HashBackend, reserved: object) -> None:
    with pytest.raises(TypeError, match="reserved"):
        impl.canonical_text("for x", reserved)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="reserved"):
        impl.canonical_hash_many(["for x"], reserved)  # type: ignore[arg-type]


def test_unencodable_str(impl: HashBackend) -> None:
    with pytest.raises(ValueError):  # UnicodeEncodeError: lone surrogate
        impl.hash_text("\ud800")
    with pytest.raises(ValueError):
        impl.hash_many(["ok", "\ud800"])


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1.5, TypeError),
        ("1", TypeError),
        (None, TypeError),
        (True, TypeError),
        (1 << 63, ValueError),
        (-(1 << 63) - 1, ValueError),
        (1 << 80, ValueError),
    ],
)
def test_insert_bad_scalar(impl: HashBackend, value: object, error: type[Exception]) -> None:
    seen = impl.dedup_set()
    with pytest.raises(error):
        seen.insert(value)  # type: ignore[arg-type]
    with pytest.raises(error):
        seen.contains(value)  # type: ignore[arg-type]
    assert len(seen) == 0


@pytest.mark.parametrize(
    ("hashes", "error", "match"),
    [
        ([1, 2], TypeError, "numpy array"),
        (None, TypeError, "numpy array"),
        (np.arange(3, dtype=np.int32), TypeError, "int64"),
        (np.arange(3, dtype=np.uint64), TypeError, "int64"),
        (np.arange(3, dtype=np.float64), TypeError, "int64"),
        (np.zeros((2, 2), dtype=np.int64), ValueError, "1-D"),
        (np.zeros((), dtype=np.int64), ValueError, "1-D"),
        (np.arange(6, dtype=np.int64)[::2], ValueError, "contiguous"),
        (_GpuTensor(), ValueError, "CPU"),
    ],
    ids=["list", "none", "int32", "uint64", "float", "2d", "0d", "strided", "gpu"],
)
def test_insert_many_bad_array(
    impl: HashBackend, hashes: object, error: type[Exception], match: str
) -> None:
    seen = impl.dedup_set()
    with pytest.raises(error, match=match):
        seen.insert_many(hashes)
    assert len(seen) == 0


def test_cpp_backstop_checks(native: HashBackend) -> None:
    """The raw FFI functions reject bad tensors themselves, without the Python checks."""
    import tvm_ffi

    from tvm_llm_sched.native.ffi_backend import _ffi

    ffi = _ffi()
    handle = ffi.dedup_set_new()
    good = np.arange(4, dtype=np.int64)
    out = np.empty(4, dtype=np.bool_)

    def insert_many(hashes: np.ndarray, flags: np.ndarray) -> None:
        ffi.dedup_set_insert_many(handle, tvm_ffi.from_dlpack(hashes), tvm_ffi.from_dlpack(flags))

    with pytest.raises(TypeError, match="int64"):
        insert_many(good.astype(np.int32), out)
    with pytest.raises(ValueError, match="1-D"):
        insert_many(good.reshape(2, 2), out)
    with pytest.raises(ValueError, match="contiguous"):
        insert_many(np.arange(8, dtype=np.int64)[::2], out)
    with pytest.raises(ValueError, match="items"):
        insert_many(good, np.empty(3, dtype=np.bool_))
    with pytest.raises(TypeError, match="bool"):
        insert_many(good, np.empty(4, dtype=np.int16))
    assert ffi.dedup_set_size(handle) == 0

    hashes = tvm_ffi.from_dlpack(np.empty(2, dtype=np.int64))
    data = tvm_ffi.from_dlpack(np.frombuffer(bytearray(b"abc"), dtype=np.uint8))
    for offsets in ([0, 2, 1], [1, 1, 3], [0, 1, 4], [0, -1, 3], [0, 3]):
        with pytest.raises(ValueError, match="offsets"):
            ffi.hash_many(data, tvm_ffi.from_dlpack(np.array(offsets, dtype=np.int64)), hashes)
    # Empty offsets: split on NUL; a piece count other than len(out) returns False.
    no_offsets = tvm_ffi.from_dlpack(np.empty(0, dtype=np.int64))
    assert ffi.hash_many(data, no_offsets, hashes) is False
    nul_data = tvm_ffi.from_dlpack(np.frombuffer(bytearray(b"a\0b\0c"), dtype=np.uint8))
    assert ffi.hash_many(nul_data, no_offsets, hashes) is False
    no_hashes = tvm_ffi.from_dlpack(np.empty(0, dtype=np.int64))
    assert ffi.hash_many(data, no_offsets, no_hashes) is False
    empty = tvm_ffi.from_dlpack(np.empty(0, dtype=np.uint8))
    assert ffi.hash_many(empty, no_offsets, no_hashes) is True
    with pytest.raises(TypeError, match="uint8"):
        ffi.hash_many(
            tvm_ffi.from_dlpack(np.zeros(3, dtype=np.int8)),
            tvm_ffi.from_dlpack(np.array([0, 1, 3], dtype=np.int64)),
            hashes,
        )
    with pytest.raises(TypeError, match="str or bytes"):
        ffi.hash_text(3)
    with pytest.raises(TypeError):
        ffi.dedup_set_size(tvm_ffi.convert([1]))  # not a DedupSet
