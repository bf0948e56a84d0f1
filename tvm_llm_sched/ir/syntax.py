"""Tokens of the step-level IR text and its naming-invariant hash.

The renderer (:mod:`tvm_llm_sched.ir.renderer`) writes a program state as lines like::

    f32 X[1,128,128] Y[1,128,128] -> Z[1,128,128]
    l0:1 l1:128 l2:128 l3:128
     block Z init=0
      Z[l0,l1,l2]+=X[l0,l1,l3]*Y[l0,l3,l2]

Every bare identifier the syntax itself uses (keywords, dtypes, scopes, loop kinds, thread axes,
annotation keys) is listed in :data:`RESERVED_WORDS`. All other identifiers are names of the state
(buffers, blocks, block iterators, loops ``l0..``, decisions ``d0..``), so
``canonical_hash(text, RESERVED_WORDS)`` (identifiers outside the set and not followed by ``(``
are renamed by first occurrence) is equal for two states that differ only in naming.
Function-like tokens (``exp(``, ``max(``, annotation calls ``parallel(32)``) are always written
directly before ``(`` and so survive canonicalisation even when not listed.

Known limit: a state whose buffer or block is *named* like a reserved word (a buffer called
``g`` or ``parallel``) keeps that name verbatim in the canonical form, so renaming exactly that
buffer changes the hash.
"""

from __future__ import annotations

import re

# -- keywords of the layout ------------------------------------------------------------------
KEYWORDS = (
    "for", "block", "alloc", "init", "where", "if", "else", "let", "attr", "root",
    "decisions", "tile", "categorical", "compute_location", "of", "max_innermost",
    "inline", "true", "false", "inf", "nan",
)  # fmt: skip

# -- loop kinds (serial is the default and is not written) -----------------------------------
LOOP_KIND_TOKENS = {1: "parallel", 2: "vectorized", 3: "unrolled"}  # tvm.tirx.ForKind values
THREAD_TOKENS = tuple(
    f"{axis}_{dim}" for axis in ("blockIdx", "threadIdx", "vthread") for dim in "xyz"
) + ("vthread",)


def thread_token(tag: str) -> str:
    """``threadIdx.x`` -> ``threadIdx_x`` (one identifier, listed in :data:`RESERVED_WORDS`)."""
    return tag.replace(".", "_")


# -- dtypes ----------------------------------------------------------------------------------
_DTYPE_RE = re.compile(r"^(bfloat|float|uint|int)(\d+)(?:x(\d+))?$")
_DTYPE_PREFIX = {"bfloat": "bf", "float": "f", "uint": "u", "int": "i"}
_BITS = (8, 16, 32, 64)  # no 1/4: i1, u4 are common iterator names
_LANES = (2, 4, 8, 16, 32, 64)
_DTYPE_VERBATIM = ("bool", "handle", "void", "float8_e4m3fn", "float8_e5m2", "float4_e2m1fn")


def dtype_token(dtype: object) -> str:
    """Short dtype: ``float32`` -> ``f32``, ``int64`` -> ``i64``, ``float16x4`` -> ``f16x4``."""
    text = str(dtype)
    match = _DTYPE_RE.match(text)
    if match is None:
        return text
    prefix, bits, lanes = match.groups()
    return f"{_DTYPE_PREFIX[prefix]}{bits}" + (f"x{lanes}" if lanes else "")


def _dtype_tokens() -> set[str]:
    tokens = set(_DTYPE_VERBATIM)
    for prefix in _DTYPE_PREFIX.values():
        for bits in _BITS:
            tokens.add(f"{prefix}{bits}")
            tokens.update(f"{prefix}{bits}x{lanes}" for lanes in _LANES)
    return tokens


# -- storage scopes --------------------------------------------------------------------------
SCOPE_TOKENS = {
    "global": "g",
    "shared": "s",
    "shared.dyn": "sd",
    "local": "l",
    "warp": "w",
    "global.vtcm": "gv",
    "wmma.matrix_a": "wa",
    "wmma.matrix_b": "wb",
    "wmma.accumulator": "wc",
}


def scope_token(scope: str) -> str:
    """Short storage scope (``global`` -> ``g``, ``shared`` -> ``s``, ``local`` -> ``l``)."""
    return SCOPE_TOKENS.get(scope, scope.replace(".", "_"))


# -- annotations -----------------------------------------------------------------------------
# Annotations with no effect on the generated code: markers for MetaSchedule's own bookkeeping
# and TOPI's softmax axis hint. Leaving them out keeps equal programs equal.
OMITTED_ANNOTATIONS = frozenset({"meta_schedule.tiling_structure", "axis"})
OMITTED_FUNC_ATTRS = frozenset({"global_symbol", "tirx.noalias", "s_tir", "target"})

ANNOTATION_TOKENS = (
    "parallel", "vectorize", "unroll_explicit", "unroll_implicit", "auto_unroll_max_step",
    "cooperative_fetch", "thread_extent_low_inclusive", "thread_extent_high_inclusive",
    "layout_rewrite_preproc", "random_compute_producer", "auto_tensorize", "auto_tensorize_init",
    "software_pipeline_stage", "software_pipeline_order", "software_pipeline_async_stages",
    "schedule_rule", "layout_free_buffers", "tiling_structure", "double_buffer_scope",
)  # fmt: skip


def annotation_token(key: str) -> str:
    """``meta_schedule.unroll_explicit`` -> ``unroll_explicit``; ``pragma_x`` -> ``x``."""
    for prefix in ("meta_schedule.", "pragma_"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return key.replace(".", "_")


# -- functions (always written before "(", listed for clarity and for callers that split) ------
FUNCTION_TOKENS = (
    "exp", "exp2", "exp10", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "tanh", "sigmoid",
    "erf", "abs", "fabs", "pow", "floor", "ceil", "round", "trunc", "nearbyint", "sin", "cos",
    "max", "min", "select", "if_then_else", "truncmod", "likely", "ramp", "bcast",
)  # fmt: skip

RESERVED_WORDS: frozenset[str] = frozenset(
    set(KEYWORDS)
    | set(LOOP_KIND_TOKENS.values())
    | set(THREAD_TOKENS)
    | _dtype_tokens()
    | set(SCOPE_TOKENS.values())
    | set(ANNOTATION_TOKENS)
    | set(FUNCTION_TOKENS)
)
"""Every bare identifier of the syntax; everything else in a rendering is a name of the state."""


def state_hash(text: str) -> int:
    """Naming-invariant 64-bit hash of a rendered state (signed int64).

    Two renderings that differ only in buffer, block, iterator, loop or decision names hash
    equal. Uses :func:`tvm_llm_sched.native.canonical_hash` with :data:`RESERVED_WORDS`.

    Examples
    --------
    >>> state_hash("l0:4\\n A[l0]=exp(B[l0])") == state_hash("l9:4\\n Q[l9]=exp(R[l9])")
    True
    """
    from ..native import canonical_hash  # lazy: the native backend loads a shared library

    return int(canonical_hash(text, RESERVED_WORDS))


_TOKEN = re.compile(r"\w+|[^\w\s]")


def token_proxy(text: str) -> int:
    """A tokenizer-free token count: each ``\\w+`` run and each other non-space character is one.

    Real BPE tokenizers split long numbers and identifiers further, so this is a lower bound; it
    is used to compare the step IR with TVMScript and to size prompts.
    """
    return len(_TOKEN.findall(text))
