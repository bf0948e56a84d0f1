"""Reserved words and the naming-invariant state hash of rendered states."""

from __future__ import annotations

import re

import pytest
import tvm
from tvm import te

from tvm_llm_sched.ir import RESERVED_WORDS, hardware_summary, render, state_hash
from tvm_llm_sched.ir.syntax import annotation_token, dtype_token, scope_token

native = pytest.importorskip(
    "tvm_llm_sched.native", reason="tvm_llm_sched.native (canonical_hash) is not available yet"
)
if not hasattr(native, "canonical_text"):
    pytest.skip("tvm_llm_sched.native has no canonical_text yet", allow_module_level=True)


def _norm_program(names: dict[str, str], rows: int = 16, cols: int = 32):
    """Sum of squares per row followed by sqrt: two blocks, a reduction, an intermediate."""
    a = te.placeholder((rows, cols), name=names["A"])
    k = te.reduce_axis((0, cols), name=names["k"])
    s = te.compute((rows,), lambda i: te.sum(a[i, k] * a[i, k], axis=k), name=names["S"])
    out = te.compute((rows,), lambda i: te.sqrt(s[i]), name=names["O"])
    return tvm.IRModule({"main": te.create_prim_func([a, out])})


ORIGINAL = {"A": "A", "k": "k", "S": "S", "O": "O"}
RENAMED = {"A": "inp", "k": "red", "S": "sumsq", "O": "result"}


def _tiled(mod):
    sch = tvm.s_tir.Schedule(mod)
    block = sch.get_sblock(mod["main"].body.block.body.seq[0].body.body.block.name_hint)
    i, k = sch.get_loops(block)
    k0, k1 = sch.split(k, [None, 8])
    sch.parallel(i)
    sch.unroll(k1)
    sch.cache_read(block, 0, "local")
    return sch


def test_renaming_changes_text_but_not_hash():
    for make in (lambda names: _norm_program(names), lambda names: _tiled(_norm_program(names))):
        original, renamed = render(make(ORIGINAL)), render(make(RENAMED))
        assert original != renamed  # buffer and block names are shown as they are
        assert native.canonical_text(original, RESERVED_WORDS) == native.canonical_text(
            renamed, RESERVED_WORDS
        )
        assert state_hash(original) == state_hash(renamed)


@pytest.mark.parametrize(
    "other",
    [
        lambda: _norm_program(ORIGINAL, rows=8),  # another extent
        lambda: _tiled(_norm_program(ORIGINAL)),  # another schedule
    ],
)
def test_different_programs_hash_differently(other):
    assert state_hash(render(_norm_program(ORIGINAL))) != state_hash(render(other()))


def test_loop_kinds_and_annotations_are_not_renamed(mods):
    sch = tvm.s_tir.Schedule(mods("GMM:0"))
    loops = sch.get_loops(sch.get_sblock("Z"))
    sch.parallel(loops[1])
    parallel = render(sch)
    sch = tvm.s_tir.Schedule(mods("GMM:0"))
    sch.vectorize(sch.get_loops(sch.get_sblock("Z"))[2])
    vectorized = render(sch)
    assert state_hash(parallel) != state_hash(vectorized)
    canonical = native.canonical_text(parallel, RESERVED_WORDS)
    assert canonical.startswith("f32 #0[1,128,128]") and "parallel #" in canonical


def test_every_bare_word_of_a_rendering_is_reserved_or_a_name(mods, spaces):
    """Words that are neither reserved nor calls must be names of the state (so renameable)."""
    space = spaces("C2D:0")[0]
    text = render(space)
    names = {p.name for p in space.mod["main"].params} | {"PadInput", "conv2d_nhwc_global"}
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?!\w)(?!\()", text):
        if word in RESERVED_WORDS:
            continue
        assert (
            re.fullmatch(r"[ld]\d+", word)
            or word in names
            or re.fullmatch(r"(v_)?[a-z]{1,3}\d?", word)
        ), word


def test_token_helpers():
    assert [dtype_token(d) for d in ("float32", "float16", "int64", "uint8", "bool")] == [
        "f32", "f16", "i64", "u8", "bool"
    ]  # fmt: skip
    assert [scope_token(s) for s in ("global", "shared", "local")] == ["g", "s", "l"]
    assert annotation_token("meta_schedule.unroll_explicit") == "unroll_explicit"
    assert annotation_token("pragma_auto_unroll_max_step") == "auto_unroll_max_step"
    assert {"f32", "parallel", "vectorized", "block", "threadIdx_x", "g"} <= RESERVED_WORDS


def test_hardware_summary_is_one_line_from_detect_cpu():
    from tvm_llm_sched.hardware import detect_cpu

    line = hardware_summary()
    assert "\n" not in line and line == detect_cpu(None).summary()
    assert re.search(r"cores=\d+ simd=\d+bit \(\d+ x f32\) fma=(yes|no) L1d=\d+KiB", line)
