"""canonical_text / canonical_hash: the exact renaming rule, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tvm_llm_sched.native import HashBackend

LOOP_WORDS = ("for", "in")


def test_exact_rule(impl: HashBackend) -> None:
    text = "for i in 0..8: A[i, j] = exp(B[j]) * 1e-05 + max(A[i, j], x_1)"
    expected = "for #0 in 0..8: #1[#0, #2] = exp(#3[#2]) * 1e-05 + max(#1[#0, #2], #4)"
    assert impl.canonical_text(text, LOOP_WORDS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("x", "#0"),
        ("_tmp x1 9abc 1e-05", "#0 #1 9abc 1e-05"),  # digit-first runs are not identifiers
        ("exp(x) exp (x)", "exp(#0) #1 (#0)"),  # kept only when '(' follows directly
        ("ü_x ü", "ü#0 ü"),  # non-ASCII splits runs and is copied
        ("a\x00b\x00a", "#0\x00#1\x00#0"),
        ("#0 x", "#0 #0"),  # "#0" is punctuation + digits, copied as is
    ],
)
def test_rule_cases(impl: HashBackend, text: str, expected: str) -> None:
    assert impl.canonical_text(text) == expected


def test_reserved_words_kept_verbatim(impl: HashBackend) -> None:
    assert impl.canonical_text("for x in y", ["for", "in"]) == "for #0 in #1"
    assert impl.canonical_text("for x in y", iter(["for"])) == "for #0 #1 #2"
    assert impl.canonical_text("for x in y", frozenset({"x", "y"})) == "#0 x #1 y"


def test_renaming_invariance(impl: HashBackend) -> None:
    a = "for i in 0..8: A[i] = B[i] + 1"
    b = "for j in 0..8: C[j] = D[j] + 1"
    assert impl.canonical_text(a, LOOP_WORDS) == impl.canonical_text(b, LOOP_WORDS)
    assert impl.canonical_hash(a, LOOP_WORDS) == impl.canonical_hash(b, LOOP_WORDS)
    assert impl.hash_text(a) != impl.hash_text(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("A[i] = B[i]", "A[i] = A[i]"),  # aliasing differs
        # Index order relative to the loops differs (bare "A[i, j]" vs "A[j, i]" is a renaming).
        ("for i in 0..8: for j in 0..4: A[i, j]", "for i in 0..8: for j in 0..4: A[j, i]"),
        ("exp(x)", "log(x)"),  # kept function names differ
        ("for i in 0..8: A[i]", "for i in 0..16: A[i]"),  # extents differ
        ("x + y", "x * y"),
    ],
)
def test_structure_sensitivity(impl: HashBackend, a: str, b: str) -> None:
    assert impl.canonical_hash(a, LOOP_WORDS) != impl.canonical_hash(b, LOOP_WORDS)


def test_canonical_hash_is_hash_of_canonical_text(impl: HashBackend) -> None:
    text = "for k in 0..4: out[k] = max(inp[k], 0.0)"
    assert impl.canonical_hash(text, LOOP_WORDS) == impl.hash_text(
        impl.canonical_text(text, LOOP_WORDS)
    )
    many = impl.canonical_hash_many([text, text.encode(), "y"], LOOP_WORDS)
    assert many.tolist() == [impl.canonical_hash(t, LOOP_WORDS) for t in (text, text, "y")]


def test_bytes_in_bytes_out(impl: HashBackend) -> None:
    assert impl.canonical_text(b"a \xff b(", ()) == b"#0 \xff b("
    assert impl.canonical_hash(b"a \xff b(") == impl.hash_text(b"#0 \xff b(")


IR_ALPHABET = "abxy_AB019 ()[]:.,=+#\x00é\n"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=IR_ALPHABET, max_size=60), max_size=8),
    st.lists(st.sampled_from(["a", "b", "ab", "for", "x_1", "é"]), max_size=3),
)
def test_random_ir_bit_identical(
    native: HashBackend, python_impl: HashBackend, texts: list[str], reserved: list[str]
) -> None:
    for text in texts:
        assert native.canonical_text(text, reserved) == python_impl.canonical_text(text, reserved)
        assert native.canonical_hash(text, reserved) == python_impl.canonical_hash(text, reserved)
    np.testing.assert_array_equal(
        native.canonical_hash_many(texts, reserved),
        python_impl.canonical_hash_many(texts, reserved),
    )


def test_large_text_bit_identical(native: HashBackend, python_impl: HashBackend) -> None:
    text = "for i in 0..8: A_é[i] = exp(B[i]) + 1e-05\x00\n" * 25_000  # ~1 MB
    assert native.canonical_text(text, LOOP_WORDS) == python_impl.canonical_text(text, LOOP_WORDS)
    assert native.canonical_hash(text, LOOP_WORDS) == python_impl.canonical_hash(text, LOOP_WORDS)
