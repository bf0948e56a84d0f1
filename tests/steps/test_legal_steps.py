"""legal_steps: every menu entry applies, the menu is bounded, distinct and deterministic, and it
offers the moves a CPU schedule needs (parallel, SIMD-sized splits, decision edits)."""

from __future__ import annotations

import pytest

from tvm_llm_sched.hardware import detect_cpu, host_target
from tvm_llm_sched.steps import State, legal_steps
from tvm_llm_sched.verify import verify


@pytest.mark.parametrize("workload", ["GMM:0", "SFM:0"])
def test_every_entry_applies_and_menu_is_deterministic(mods, workload):
    state = State.initial(mods(workload))
    menu = legal_steps(state, host_target(), limit=40)
    assert 0 < len(menu) <= 40
    assert len(set(menu)) == len(menu)
    assert menu == legal_steps(state, host_target(), limit=40)
    for step in menu:
        state.apply(step)  # raises if the menu lied
    assert {"parallel", "split", "reorder"} <= {s.kind for s in menu}


def test_menu_sizes_splits_for_the_simd_width(mods):
    lanes = detect_cpu(host_target()).fp32_lanes
    menu = legal_steps(State.initial(mods("GMM:0")), host_target())
    assert any(s.kind == "split" and s["factors"][-1] == lanes for s in menu)
    assert legal_steps(State.initial(mods("GMM:0")), limit=3) == menu[:3]
    assert legal_steps(State.initial(mods("GMM:0")), limit=0) == []


def test_design_space_menu_offers_decision_edits_that_apply(mods, spaces):
    state = spaces("GMM:0")
    menu = legal_steps(state, host_target(), limit=40)
    kinds = {s.kind for s in menu}
    assert {"set_tile", "set_choice"} <= kinds
    for step in menu:
        state.apply(step)


def test_following_the_menu_keeps_the_program_correct(mods):
    # Greedy walk: always take the first menu entry; the result must still compute the same.
    mod = mods("SFM:0")
    state = State.initial(mod)
    for _ in range(4):
        state = state.apply(legal_steps(state, limit=5)[0])
    verify(mod, state.scheduled_mod, seeds=(0,)).raise_if_failed()
