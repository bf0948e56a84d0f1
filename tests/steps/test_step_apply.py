"""Every schedule-primitive step kind applied to a real workload and verified numerically; every
rejection path with its error type and message; rejected steps leave the state intact."""

from __future__ import annotations

import pytest
import tvm
import tvm_ffi

from tvm_llm_sched.errors import IllegalStepError, StepSyntaxError, UnknownSiteError
from tvm_llm_sched.steps import STEP_KINDS, State
from tvm_llm_sched.steps.appliers import resolve_factors
from tvm_llm_sched.verify import verify

# (kind under test, workload, steps: the last one is the kind under test)
PRIMITIVE_CASES = [
    ("split", "GMM:0", ["split(l1, [8, 16])"]),
    ("reorder", "GMM:0", ["reorder(l3, l2)"]),
    ("fuse", "GMM:0", ["fuse(l1, l2)"]),
    ("parallel", "GMM:0", ["parallel(l1)"]),
    ("vectorize", "GMM:0", ["reorder(l3, l2)", "split(l3, [8, 16])", "vectorize(l4)"]),
    ("unroll", "DEP:0", ["unroll(l9)"]),
    ("annotate", "GMM:0", ['annotate(l1, "pragma_auto_unroll_max_step", 64)']),
    ("cache_read", "GMM:0", ['cache_read(Z, 1, "global")']),
    ("cache_write", "GMM:0", ['cache_write(Z, 0, "global")']),
    ("compute_at", "C1D:0", ["compute_at(PadInput, l4)"]),
    (
        "reverse_compute_at",
        "GMM:0",
        ['cache_write(Z, 0, "global")', "reverse_compute_at(Z_global, l1)"],
    ),
    ("compute_inline", "DEP:0", ["compute_inline(PadInput)"]),
    (
        "reverse_compute_inline",
        "SFM:0",
        ['cache_read(T_softmax_norm, 0, "global")', "reverse_compute_inline(T_softmax_exp_global)"],
    ),
    ("rfactor", "NRM:0", ["rfactor(l1, 0)"]),
    ("decompose_reduction", "GMM:0", ["decompose_reduction(Z, l3)"]),
]


def test_cases_cover_every_primitive_kind():
    primitive = {k for k, spec in STEP_KINDS.items() if not spec.edits_decision}
    assert {case[0] for case in PRIMITIVE_CASES} == primitive


@pytest.mark.parametrize(
    ("kind", "workload", "steps"), PRIMITIVE_CASES, ids=[c[0] for c in PRIMITIVE_CASES]
)
def test_primitive_applies_and_stays_numerically_equal(mods, kind, workload, steps):
    mod = mods(workload)
    state = State.replay(mod, None, steps)
    assert state.steps[-1].kind == kind
    assert not tvm_ffi.structural_equal(state.scheduled_mod, mod)  # the step did something
    verify(mod, state.scheduled_mod, seeds=(0,)).raise_if_failed()


def test_a_split_whose_none_factor_rounds_up_guards_its_tail(mods):
    mod = mods("GMM:0")
    state = State.replay(mod, None, ["split(l1, [None, 5])"])
    assert [int(state.names.loops[n].node.extent) for n in ("l1", "l2")] == [26, 5]
    assert "T.where(" in state.scheduled_mod.script()  # 26 * 5 = 130: the last two are guarded
    verify(mod, state.scheduled_mod, seeds=(0,)).raise_if_failed()
    exact = State.replay(mod, None, ["split(l1, [None, 128])"])
    assert int(exact.names.loops["l1"].node.extent) == 1
    # a sampled perfect tile (set_tile) has no tail to guard
    with pytest.raises(IllegalStepError, match="does not divide 128"):
        resolve_factors((None, 5), 128, "d0", count=2)


def test_each_primitive_is_visible_in_the_ir(mods):
    state = State.initial(mods("GMM:0")).apply("split(l2, [8, 16])")
    assert [int(state.names.loops[n].node.extent) for n in state.names.loop_order] == [
        1,
        128,
        8,
        16,
        128,
    ]
    state = state.apply("reorder(l4, l3)").apply("vectorize(l4)").apply("parallel(l1)")
    kinds = [state.names.loops[n].node.kind for n in state.names.loop_order]
    assert kinds[1] == tvm.tirx.ForKind.PARALLEL and kinds[4] == tvm.tirx.ForKind.VECTORIZED
    assert (
        "Z_global" in State.initial(mods("GMM:0")).apply('cache_write(Z, 0, "global")').names.blocks
    )


REJECTIONS = [
    # (workload, prior steps, bad step, error type, message fragments)
    (
        "GMM:0",
        [],
        "split(l1, [3, 5])",
        IllegalStepError,
        ["loop l1 has extent 128", "multiply to 15, not 128"],
    ),
    ("GMM:0", [], "split(l1, [None, 256])", IllegalStepError, ["256, more than the extent"]),
    ("GMM:0", [], "split(l1, [None, None])", IllegalStepError, ["at most one factor may be None"]),
    ("GMM:0", [], "split(l1, [0, 128])", IllegalStepError, ["must be positive"]),
    ("GMM:0", [], "split(l1, [128])", IllegalStepError, ["at least 2 factors"]),
    (
        "GMM:0",
        [],
        "vectorize(l3)",
        IllegalStepError,
        ["vectorize(l3) refused by TVM", "block Z", "not a data parallel block iter"],
    ),
    (
        "GMM:0",
        [],
        "parallel(l3)",
        IllegalStepError,
        ["parallel(l3) refused by TVM", "not a data parallel"],
    ),
    ("GMM:0", [], "rfactor(l1, 0)", IllegalStepError, ["l1 (for i)", "data parallel block iter"]),
    ("GMM:0", [], "compute_at(Z, l1)", IllegalStepError, ["compute_at(Z, l1) refused by TVM"]),
    ("GMM:0", [], "fuse(l2, l1)", IllegalStepError, ["fuse(l2, l1) refused by TVM"]),
    ("GMM:0", [], 'cache_read(Z, 5, "global")', IllegalStepError, ["has 2 read regions"]),
    (
        "GMM:0",
        [],
        'cache_write(Z, 0, "bogus")',
        IllegalStepError,
        ['storage scope "bogus" is invalid'],
    ),
    ("NRM:0", [], "reverse_compute_inline(D)", IllegalStepError, ["only a single producer block"]),
    ("DEP:0", [], "compute_inline(depth_conv2d_nhwc)", IllegalStepError, ["refused by TVM"]),
    (
        "GMM:0",
        [],
        "split(l9, [2, 64])",
        UnknownSiteError,
        ["unknown loop 'l9'; loops are l0, l1, l2, l3"],
    ),
    ("GMM:0", [], "compute_inline(W)", UnknownSiteError, ["unknown block 'W'; blocks are Z"]),
    (
        "GMM:0",
        [],
        'annotate(Q, "k", 1)',
        UnknownSiteError,
        ["loops are l0, l1, l2, l3", "blocks are Z"],
    ),
    (
        "GMM:0",
        [],
        "set_tile(d0, [1, 2])",
        UnknownSiteError,
        ["this state has no sampled decisions"],
    ),
    (
        "GMM:0",
        ["split(l1, [8, 16])"],
        "reorder(l4, l9)",
        UnknownSiteError,
        ["loops are l0, l1, l2, l3, l4"],
    ),
    ("GMM:0", [], "split(l1 [8, 16])", StepSyntaxError, ["expected ','"]),
    # TVM names the cache_read's block after the rfactor buffer ("C.rf"), as the cache_write did
    (
        "NRM:0",
        ["rfactor(l1, 0)", 'cache_write(C_rf, 0, "global")'],
        'cache_read(C, 0, "global")',
        IllegalStepError,
        ["a second 'C.rf_global'", "two blocks of one name"],
    ),
]


@pytest.mark.parametrize(
    ("workload", "prior", "bad", "error", "fragments"), REJECTIONS, ids=[r[2] for r in REJECTIONS]
)
def test_rejections_have_type_and_reason_and_keep_the_state(
    mods, workload, prior, bad, error, fragments
):
    state = State.replay(mods(workload), None, prior)
    before = state.scheduled_mod
    with pytest.raises(error) as err:
        state.apply(bad)
    assert type(err.value) is error
    for fragment in fragments:
        assert fragment in str(err.value)
    assert len(str(err.value)) < 600  # trimmed, prompt-sized
    assert tvm_ffi.structural_equal(state.scheduled_mod, before)
    assert len(state.steps) == len(prior)
    assert state.apply('annotate(l0, "k", 1)').steps[-1].kind == "annotate"  # still usable


def test_state_schedule_is_a_private_copy(mods):
    state = State.initial(mods("GMM:0"))
    sch = state.schedule
    sch.parallel(sch.get_loops(sch.get_sblock("Z"))[1])
    assert tvm_ffi.structural_equal(state.scheduled_mod, mods("GMM:0"))
