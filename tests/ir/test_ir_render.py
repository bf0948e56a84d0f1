"""The step-level IR renderer on real TVM programs: te_workloads, hand schedules, design spaces."""

from __future__ import annotations

import re
import statistics

import pytest
import tvm

from tvm_llm_sched.ir import NameTable, render, written_buffers
from tvm_llm_sched.proposers.prompts import outline

KINDS = ("C1D", "C2D", "C3D", "GMM", "GRP", "DIL", "DEP", "T2D", "CAP", "NRM", "SFM", "CBR", "TBG")
LOOP_TOKEN = re.compile(r"(?:^|\s)(l\d+):")


def _loop_names(text: str) -> list[str]:
    return LOOP_TOKEN.findall(text.split("\ndecisions")[0])


def _assert_names_match(text: str, sch) -> None:
    """Every loop is shown with NameTable's name, in NameTable's order; every block appears."""
    names = NameTable(sch)
    assert _loop_names(text) == names.loop_order
    for block in names.blocks:
        assert re.search(rf"^\s*block {re.escape(block)}(?=[ :{{]|$)", text, re.M), block


@pytest.mark.parametrize("kind", KINDS)
def test_every_workload_kind_renders_deterministically(kind, mods):
    mod = mods(f"{kind}:0")
    text = render(mod)
    assert text and text == render(mod)
    sch = tvm.s_tir.Schedule(mod)
    assert render(sch) == text  # an untouched schedule has no decisions: same as the module
    _assert_names_match(text, sch)
    func = mod["main"]
    header = text.splitlines()[0]
    for param in func.params:  # every parameter is declared with its shape
        assert f"{param.name}[" in header or f"{param.name}:" in header
    outputs = header.split("->")[1]
    assert all(
        name in outputs for name in written_buffers(func) if name in {p.name for p in func.params}
    )


def test_matmul_rendering_is_exact(mods):
    assert render(mods("GMM:0")) == (
        "f32 X[1,128,128] Y[1,128,128] -> Z[1,128,128]\n"
        "l0:1 l1:128 l2:128 l3:128\n"
        " block Z init=0\n"
        "  Z[l0,l1,l2]+=X[l0,l1,l3]*Y[l0,l3,l2]"
    )


def test_softmax_and_padding_show_every_stage(mods):
    softmax = render(mods("SFM:0"))
    assert "init=-3.4028235e+38" in softmax and "max(T_softmax_maxelem[l0],A[l0,l1])" in softmax
    assert "exp(A[l2,l3]-T_softmax_maxelem[l2])" in softmax
    assert softmax.count("block ") == 4
    conv = render(mods("C2D:0"))
    assert "alloc PadInput[1,230,230,3]" in conv
    assert "if_then_else(3<=l1<227&&3<=l2<227,inputs[l0,l1-3,l2-3,l3],0)" in conv


def test_chars_ratio_median_at_least_4x(mods):
    ratios = [len(mods(f"{k}:0").script()) / len(render(mods(f"{k}:0"))) for k in KINDS]
    assert statistics.median(ratios) >= 4.0, ratios


def _hand_scheduled(mod):
    sch = tvm.s_tir.Schedule(mod)
    block = sch.get_sblock("Z")
    b, i, j, k = sch.get_loops(block)
    i0, i1 = sch.split(i, [None, 16])
    j0, j1 = sch.split(j, [None, 16])
    k0, k1 = sch.split(k, [None, 4])
    sch.reorder(i0, j0, k0, i1, k1, j1)
    sch.parallel(sch.fuse(b, i0))
    sch.vectorize(j1)
    sch.unroll(k1)
    sch.annotate(k0, "pragma_auto_unroll_max_step", 16)
    sch.cache_write(block, 0, "local")
    return sch


def test_hand_schedule_shows_kinds_annotations_scopes_and_bindings(mods):
    sch = _hand_scheduled(mods("GMM:0"))
    text = render(sch)
    assert text.splitlines()[1:5] == [
        "alloc Z_local@l[1,128,128]",
        "parallel l0:8 l1:8 l2:32{auto_unroll_max_step(16)} l3:16 unrolled l4:4 vectorized l5:16",
        " block Z init=0: i=l0*16+l3, j=l1*16+l5, k=l2*4+l4",  # b is bound to 0: substituted
        "  Z_local[0,i,j]+=X[0,i,k]*Y[0,k,j]",
    ]
    assert "decisions" not in text  # a hand schedule samples nothing
    _assert_names_match(text, sch)


def test_equivalent_states_render_identically(mods):
    """Same loop tree reached by splitting in two different orders: same text."""
    mod = mods("GMM:0")
    first, second = tvm.s_tir.Schedule(mod), tvm.s_tir.Schedule(mod)
    _, i, j, _ = first.get_loops(first.get_sblock("Z"))
    first.split(i, [8, 16])
    first.split(j, [4, 32])
    _, i, j, _ = second.get_loops(second.get_sblock("Z"))
    second.split(j, [4, 32])
    second.split(i, [8, 16])
    assert render(first) == render(second)


def test_design_space_and_its_replay_render_identically(mods, spaces):
    for name in ("GMM:0", "C2D:0", "SFM:0"):
        for space in spaces(name):
            replay = tvm.s_tir.Schedule(mods(name))
            space.trace.apply_to_schedule(replay, remove_postproc=False)
            text = render(space)
            assert text == render(replay)
            _assert_names_match(text, space)


def test_design_space_lists_decisions_with_their_loops(mods, spaces):
    space = spaces("GMM:0")[0]
    text = render(space)
    lines = text.split("\ndecisions\n")[1].splitlines()
    names = NameTable(space)
    assert len(lines) == len(names.decisions)
    tiles = [line for line in lines if " tile(" in line]
    assert len(tiles) == 4  # b, i, j split in 4, k in 2
    for index, line in enumerate(lines):
        assert line.startswith(f"d{index} ")
    for line in tiles:  # the factors are the extents of the named loops
        loops, factors = re.match(r"d\d+ tile\(([^)]*)\)=\[([^\]]*)\]", line).groups()
        for loop, factor in zip(loops.split(","), factors.split(","), strict=True):
            assert names.loops[loop].node.extent == int(factor)
    assert any(
        re.match(r"d\d+ categorical\(unroll_explicit\)=\d+ of\[0,16,64,512\]", x) for x in lines
    )
    assert "root{parallel(" in text
    assert render(space, decisions=False) == text.split("\ndecisions\n")[0]


def test_compute_location_decision_names_block_and_place(spaces):
    lines = render(spaces("SFM:0")[0]).split("\ndecisions\n")[1].splitlines()
    locations = [line for line in lines if "compute_location(" in line]
    assert locations
    for line in locations:
        assert re.match(r"d\d+ compute_location\(T_softmax_\w+\)=(inline|root|l\d+)$", line), line


def test_bad_input_is_a_type_error():
    with pytest.raises(TypeError, match="Schedule, IRModule or PrimFunc"):
        render("GMM:0")


@pytest.mark.parametrize("name", ["SFM:0", "C2D:0"])
def test_outline_keeps_every_site_a_step_names_and_drops_the_computations(name, spaces):
    # The compact prompt shows the outline: a step may name any loop, block or decision, so all
    # of them must survive; the store statements and allocations must not.
    space = spaces(name)[0]
    text = render(space)
    short = outline(text)
    _assert_names_match(short, space)
    assert short.split("\ndecisions\n")[1] == text.split("\ndecisions\n")[1]
    assert short.splitlines()[0] == text.splitlines()[0]  # the signature: shapes and dtypes
    dropped = set(text.splitlines()) - set(short.splitlines())
    assert dropped and all("[" in line or line.lstrip().startswith("alloc ") for line in dropped)
    assert not any(line.lstrip().startswith("alloc ") for line in short.splitlines())
    assert outline(short) == short
    assert len(short) < 0.8 * len(text)
