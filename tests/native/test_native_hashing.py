"""hash_text / hash_many: XXH64 test vectors and native == pure Python, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tvm_llm_sched.native import HashBackend

# XXH64, seed 0, from the xxHash reference implementation (unsigned hex digests).
VECTORS = {
    b"": 0xEF46DB3751D8E999,
    b"a": 0xD24EC4F1A98C6E5B,
    b"abc": 0x44BC2CF5AD770999,
    b"message digest": 0x066ED728FCEEB3BE,
    b"abcdefghijklmnopqrstuvwxyz": 0xCFE1F278FA89835C,
    b"Nobody inspects the spammish repetition": 0xFBCEA83C8A378BF1,
}

EDGE_TEXTS = [
    "",
    "a",
    "\x00",
    "a\x00b\x00",
    "héllo wörld ✓ 漢字 🙂",
    "x" * 31,
    "x" * 32,
    "x" * 33,
    "y" * 63 + "é",
    "for i in range(8):\n  A[i] = B[i] * 2\n",
]


def signed(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


@pytest.mark.parametrize(("data", "digest"), list(VECTORS.items()))
def test_known_vectors(impl: HashBackend, data: bytes, digest: int) -> None:
    assert impl.hash_text(data) == signed(digest)
    assert impl.hash_text(data.decode()) == signed(digest)


def test_values_are_signed_int64(impl: HashBackend) -> None:
    h = impl.hash_text(b"")  # 0xEF46... has the top bit set
    assert type(h) is int and h < 0
    assert h == int(np.uint64(VECTORS[b""]).view(np.int64))


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_edge_texts_match(native: HashBackend, python_impl: HashBackend, text: str) -> None:
    assert native.hash_text(text) == python_impl.hash_text(text)
    assert native.hash_text(text.encode()) == native.hash_text(text)


def test_one_megabyte_text(native: HashBackend, python_impl: HashBackend) -> None:
    text = ("step ü\x00 " * 140_000)[: 1 << 20]
    assert native.hash_text(text) == python_impl.hash_text(text)
    many = native.hash_many([text, text.encode(), ""])
    np.testing.assert_array_equal(many, python_impl.hash_many([text, text.encode(), ""]))


def test_hash_many_matches_hash_text(impl: HashBackend) -> None:
    texts = [*EDGE_TEXTS, b"raw \xff\xfe bytes", "ascii only"]
    out = impl.hash_many(texts)
    assert out.dtype == np.int64 and out.shape == (len(texts),)
    assert out.tolist() == [impl.hash_text(t) for t in texts]


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [""],
        ["", "", ""],
        ["ascii", "only"],
        ["non-ascii é", "漢字"],
        ["has\x00nul", "x", ""],
        [b"only", b"bytes", b""],
        [b"nul\x00bytes", b"y"],
        ["mixed", b"kinds", "é"],
    ],
    ids=[
        "empty",
        "one-empty",
        "all-empty",
        "ascii",
        "non-ascii",
        "str-nul",
        "bytes",
        "bytes-nul",
        "mixed",
    ],
)
def test_hash_many_packing_paths(
    native: HashBackend, python_impl: HashBackend, texts: list[str | bytes]
) -> None:
    np.testing.assert_array_equal(native.hash_many(texts), python_impl.hash_many(texts))
    np.testing.assert_array_equal(native.hash_many(tuple(texts)), native.hash_many(iter(texts)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(), st.binary()), max_size=20))
def test_random_texts_bit_identical(
    native: HashBackend, python_impl: HashBackend, texts: list[str | bytes]
) -> None:
    np.testing.assert_array_equal(native.hash_many(texts), python_impl.hash_many(texts))
    for text in texts:
        assert native.hash_text(text) == python_impl.hash_text(text)


@pytest.mark.parametrize("chunk", [1, 3, 16384])
def test_hash_many_across_chunks(
    native: HashBackend, python_impl: HashBackend, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    from tvm_llm_sched.native import ffi_backend

    monkeypatch.setattr(ffi_backend, "PACK_CHUNK", chunk)
    # Chunks that take different packing paths: ASCII, NUL inside, bytes, mixed, non-ASCII.
    texts = ["a", "bb", "", "c\x00d", "e", b"f", b"g\x00", "é", b"h", "i"] * 3
    np.testing.assert_array_equal(native.hash_many(texts), python_impl.hash_many(texts))
    np.testing.assert_array_equal(
        native.canonical_hash_many(texts, ["a"]), python_impl.canonical_hash_many(texts, ["a"])
    )
