"""Deterministic replay, TVM-alone replay of ``State.trace``, MetaSchedule database storage, and
decision edits (set_tile / set_choice / set_compute_location) on design-space samples."""

from __future__ import annotations

import pytest
import tvm
import tvm_ffi
from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.errors import IllegalStepError, UnknownSiteError
from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.steps import State
from tvm_llm_sched.verify import verify

GMM_STEPS = [
    "split(l2, [8, 16])",
    "reorder(l4, l3)",
    "vectorize(l4)",
    "parallel(l1)",
    'cache_write(Z, 0, "global")',
    "reverse_compute_at(Z_global, l1)",
    "decompose_reduction(Z, l3)",
]


def _tvm_replay(mod, trace):
    """Replay a trace with TVM alone, as a MetaSchedule database would."""
    sch = tvm.s_tir.Schedule(mod)
    trace.apply_to_schedule(sch, remove_postproc=False)
    return sch.mod


def test_replay_is_deterministic_and_trace_replays_in_tvm_alone(mods):
    mod = mods("GMM:0")
    first = State.replay(mod, None, GMM_STEPS)
    second = State.replay(mod, None, "\n".join(GMM_STEPS))
    assert tvm_ffi.structural_equal(first.scheduled_mod, second.scheduled_mod)
    assert str(first.trace) == str(second.trace)
    assert tvm_ffi.structural_equal(_tvm_replay(mod, first.trace), first.scheduled_mod)
    stepwise = State.initial(mod)
    for step in GMM_STEPS:
        stepwise = stepwise.apply(step)
    assert tvm_ffi.structural_equal(stepwise.scheduled_mod, first.scheduled_mod)
    verify(mod, first.scheduled_mod, seeds=(0,)).raise_if_failed()


def test_replay_names_the_failing_step(mods):
    with pytest.raises(UnknownSiteError, match="step 2: unknown loop 'l7'"):
        State.replay(mods("GMM:0"), None, ["parallel(l1)", "vectorize(l7)"])


def test_trace_is_storable_in_a_metaschedule_database(mods, tmp_path):
    mod = mods("GMM:0")
    state = State.replay(mod, None, GMM_STEPS)
    database = ms.database.JSONDatabase(work_dir=str(tmp_path))
    workload = database.commit_workload(mod)
    database.commit_tuning_record(
        ms.database.TuningRecord(
            state.trace,
            workload,
            [1.0e-3],
            host_target(),
            ms.arg_info.ArgInfo.from_prim_func(mod["main"]),
        )
    )
    reloaded = ms.database.JSONDatabase(work_dir=str(tmp_path))
    (record,) = reloaded.get_top_k(reloaded.commit_workload(mod), 1)
    assert tvm_ffi.structural_equal(_tvm_replay(mod, record.trace), state.scheduled_mod)


def test_from_schedule_keeps_the_design_space_and_checks_mod(mods, spaces):
    space = spaces("GMM:0").schedule
    state = State.from_schedule(space, mods("GMM:0"))
    assert tvm_ffi.structural_equal(state.scheduled_mod, space.mod)
    assert len(state.names.decisions) == 5  # 4 perfect tilings + 1 unroll categorical
    with pytest.raises(ValueError, match="does not"):
        State.from_schedule(space, mods("SFM:0"))


def test_decision_edits_replay_in_tvm_alone_and_verify(mods, spaces):
    mod = mods("GMM:0")
    state = spaces("GMM:0").apply("parallel(l1)")
    edited = state.apply("set_tile(d2, [2, 4, 1, 16])").apply("set_choice(d4, 2)")
    trace = edited.trace
    decisions = [trace.get_decision(inst) for inst in edited.names.decisions]
    assert [int(d) for d in decisions[2]] == [2, 4, 1, 16] and int(decisions[4]) == 2
    # the earlier primitive step was re-applied after the edits
    assert edited.names.loops["l1"].node.kind == tvm.tirx.ForKind.PARALLEL
    assert [s.to_text() for s in edited.steps] == [
        "parallel(l1)",
        "set_tile(d2, [2, 4, 1, 16])",
        "set_choice(d4, 2)",
    ]
    assert tvm_ffi.structural_equal(_tvm_replay(mod, trace), edited.scheduled_mod)
    again = State.replay(mod, spaces("GMM:0").base_trace, edited.steps)
    assert tvm_ffi.structural_equal(again.scheduled_mod, edited.scheduled_mod)
    verify(mod, edited.scheduled_mod, seeds=(0,)).raise_if_failed()


def test_set_compute_location_replays_and_verifies(mods, spaces):
    mod = mods("DEP:0")
    state = spaces("DEP:0")
    (location,) = [
        i
        for i, inst in enumerate(state.names.decisions)
        if inst.kind.name == "SampleComputeLocation"
    ]
    edited = state.apply(f"set_compute_location(d{location}, inline)")
    assert "PadInput" not in edited.names.blocks
    assert tvm_ffi.structural_equal(_tvm_replay(mod, edited.trace), edited.scheduled_mod)
    rooted = state.apply(f"set_compute_location(d{location}, -1)")
    assert rooted.names.blocks["PadInput"].loops[0] == "l0"  # back at the root
    verify(mod, rooted.scheduled_mod, seeds=(0,)).raise_if_failed()
    with pytest.raises(IllegalStepError, match=r"valid locations: -2 \(inline\), -1 \(root\)"):
        state.apply(f"set_compute_location(d{location}, 1000)")


@pytest.mark.parametrize(
    ("step", "fragments"),
    [
        (
            "set_tile(d1, [2, 2, 2, 2])",
            ["d1 tiles a loop of extent 128", "multiply to 16, not 128"],
        ),
        ("set_tile(d1, [128, 1])", ["needs exactly 4 factors, got 2"]),
        ("set_tile(d1, [1, 1, 1, 128])", ["exceeds max_innermost_factor 64"]),
        (
            "set_tile(d4, [1, 2])",
            ["d4 is SampleCategorical candidates=[0, 16, 64, 512]", "use set_choice"],
        ),
        ("set_choice(d4, 7)", ["d4 has candidates [0, 16, 64, 512]; index must be in 0..3"]),
        ("set_choice(d0, 1)", ["d0 is SamplePerfectTile n=4", "use set_tile"]),
        ("set_compute_location(d4, root)", ["set_compute_location edits SampleComputeLocation"]),
        ("set_compute_location(d4, -3)", ["set_compute_location edits"]),
        ("set_tile(d9, [1, 1])", ["unknown decision 'd9'; decisions are d0..d4"]),
    ],
)
def test_bad_decision_edits_are_rejected(mods, spaces, step, fragments):
    state = spaces("GMM:0")
    before = str(state.trace)
    with pytest.raises((IllegalStepError, UnknownSiteError)) as err:
        state.apply(step)
    for fragment in fragments:
        assert fragment in str(err.value)
    assert str(state.trace) == before


def test_decision_edit_that_breaks_a_later_primitive_is_rejected(mods, spaces):
    state = spaces("GMM:0")
    k_inner = int(state.trace.get_decision(state.names.decisions[3])[1])  # d3 tiles k in 2 levels
    (loop,) = [n for n, site in state.names.loops.items() if site.node.loop_var.name == "k_1"]
    state = state.apply(f"split({loop}, [{k_inner}, 1])")  # legal only for this extent of k_1
    with pytest.raises(IllegalStepError, match=rf"breaks an earlier step: loop {loop} has extent"):
        state.apply("set_tile(d3, [2, 64])" if k_inner != 64 else "set_tile(d3, [4, 32])")
    assert len(state.steps) == 1
