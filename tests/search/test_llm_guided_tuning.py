"""LLMGuidedSearch under ms.tune_tir on GMM:0: JSON records, compile_tir from disk, proposer
chains, resume. (The conv workload C1D:0 is tuned by the conformance kit's tune_tir check.)"""

from __future__ import annotations

import shutil

import pytest
from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.testing import strategy_conformance as kit

pytestmark = pytest.mark.tuning


@pytest.fixture(scope="module")
def gmm_run(tmp_path_factory, make_spy):
    """GMM:0 tuned by LLMGuidedSearch over a spy of the expert policy: 8 trials, 4 per iteration."""
    work_dir = tmp_path_factory.mktemp("gmm")
    spy = make_spy()
    mod = kit.conformance_workload("GMM:0").mod
    kit.tune(mod, work_dir, LLMGuidedSearch(spy), max_trials=8, num_trials_per_iter=4)
    return work_dir, spy, mod


def test_gmm_records_compile_from_disk_and_verify(gmm_run):
    work_dir, _, mod = gmm_run
    kit.check_work_dir(work_dir, mod, expected=8)


def test_proposer_chains_are_measured(gmm_run):
    work_dir, spy, mod = gmm_run
    assert spy.steps, "the proposer was never asked or never answered"
    # The second iteration expands measured states (the frontier), not only design-space samples.
    assert any(s.state_latency_us is not None for s in spy.situations)
    assert any(len(s.state_steps) > 0 for s in spy.situations), "no chain went past one step"
    records = ms.database.JSONDatabase(work_dir=str(work_dir)).get_all_tuning_records()
    measured = spy.measured([kit.replay_record(r, mod) for r in records], mod)
    assert measured, "no measured schedule carries the decisions a proposer step set"


def test_resume_grows_the_database_without_remeasuring(gmm_run, tmp_path):
    work_dir, _, mod = gmm_run
    resume_dir = tmp_path / "resume"
    shutil.copytree(work_dir, resume_dir)
    before = ms.database.JSONDatabase(work_dir=str(resume_dir)).get_all_tuning_records()
    old = {kit.schedule_key(kit.replay_record(r, mod)) for r in before}
    kit.tune(mod, resume_dir, LLMGuidedSearch(), max_trials=4, num_trials_per_iter=4, seed=1)
    # check_work_dir also fails on any schedule recorded twice, i.e. measured again.
    after = kit.check_work_dir(resume_dir, mod, expected=len(before) + 4)
    keys = {kit.schedule_key(kit.replay_record(r, mod)) for r in after}
    assert old <= keys, "records of the first run are gone"
    assert len(keys - old) == 4


def test_the_random_proposer_tunes_from_the_menu(make_spy):
    """The control proposer through a whole (hand-driven) run: its menu picks are measured."""
    from tvm_llm_sched.proposers import RandomProposer

    spy = make_spy(RandomProposer(seed=5))
    mod = kit.conformance_workload("GMM:0").mod
    tuner = kit.HandTuner(LLMGuidedSearch(spy), mod, cost_model="random")
    tuner.pre_tuning(8, 4)
    tuner.run()
    tuner.post_tuning()
    kit.check_hand_run(tuner, mod, max_trials=8, num_trials_per_iter=4)
    assert spy.steps and all(s.menu for s in spy.situations)  # it was shown the menu
    menus = {step.to_text() for s in spy.situations for step in s.menu}
    assert set(spy.steps) <= menus
