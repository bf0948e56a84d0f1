"""Candidate ranking during TVM's cost-model warm-up, and the background proposer's history copy.

The candidates and the feature extraction are real (GMM:0 design-space samples on this target);
the latencies fed to the models are assigned by the test so the expected ranking is known.
"""

from __future__ import annotations

import functools

import pytest
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.meta_schedule.runner import RunnerResult
from tvm.s_tir.meta_schedule.search_strategy import MeasureCandidate

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.proposers import Rejection
from tvm_llm_sched.search.engine import History
from tvm_llm_sched.search.ranking import CandidateRanker, answers_at_random
from tvm_llm_sched.steps import parse_step
from tvm_llm_sched.workloads import load_workload


@functools.cache
def _context_and_candidates(count: int = 24):
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo

    mod = load_workload("GMM:0").mod
    context = ms.TuneContext(
        mod=mod,
        target=host_target(),
        space_generator="post-order-apply",
        search_strategy="evolutionary",
        task_name="main",
        rand_state=7,
    )
    candidates = []
    for i in range(count):
        sch = ms.TuneContext(
            mod=mod, target=host_target(), space_generator="post-order-apply", rand_state=100 + i
        ).generate_design_space()[0]
        candidates.append(MeasureCandidate(sch, ArgInfo.from_entry_func(sch.mod)))
    return context, candidates


def _results(latencies_s):
    return [RunnerResult([t], None) for t in latencies_s]


def test_tvm_xgb_model_in_warmup_is_detected_as_random():
    context, candidates = _context_and_candidates()
    warm = ms.cost_model.XGBModel()  # 100 warm-up samples: scores at random
    assert answers_at_random(context, warm, candidates[:2])
    warm.update(context, candidates[:8], _results([1e-4 * (i + 1) for i in range(8)]))
    assert answers_at_random(context, warm, candidates[:2]), "still in warm-up after 8 samples"

    trained = ms.cost_model.XGBModel(num_warmup_samples=0)
    trained.update(context, candidates[:8], _results([1e-4 * (i + 1) for i in range(8)]))
    assert not answers_at_random(context, trained, candidates[:2])


def test_ranker_uses_its_own_model_while_the_task_model_is_random():
    context, candidates = _context_and_candidates()
    task_model = ms.cost_model.XGBModel()  # the default a 64-trial run never trains past
    ranker = CandidateRanker(context, task_model, min_samples=8)
    assert not ranker.ready()
    measured = candidates[:12]
    ranker.update(measured, _results([1e-4 * (i + 1) for i in range(12)]))
    assert ranker.ready()
    first, second = ranker.scores(candidates), ranker.scores(candidates)
    assert first == second, "a warm-up ranking must be deterministic"
    # Trained on "earlier candidates are faster", it must not rank the slowest measured one first.
    measured_scores = first[:12]
    assert measured_scores.index(max(measured_scores)) < 6


def test_ranker_trusts_a_task_model_that_predicts():
    context, candidates = _context_and_candidates()
    task_model = ms.cost_model.XGBModel(num_warmup_samples=0)
    task_model.update(context, candidates[:8], _results([1e-4 * (i + 1) for i in range(8)]))
    ranker = CandidateRanker(context, task_model, min_samples=0)
    ranker.update(candidates[:8], _results([1e-4 * (i + 1) for i in range(8)]))
    assert ranker.ready()
    expected = [float(s) for s in task_model.predict(context, candidates)]
    assert ranker.scores(candidates) == pytest.approx(expected)


def test_ranker_without_own_model_waits_for_the_task_model():
    context, candidates = _context_and_candidates()
    ranker = CandidateRanker(context, ms.cost_model.XGBModel(), min_samples=0)
    ranker.update(candidates[:8], _results([1e-4] * 8))
    assert not ranker.ready()


def test_history_snapshot_is_independent_and_merges_its_new_rejections():
    live = History(size=4, rejections=3)
    live.reject(Rejection(step="a", reason="why a"))
    live.outcome((parse_step("parallel(l0)"),), 10.0, None)
    snap = live.snapshot()
    # a measurement arriving while the snapshot is in use
    live.outcome((parse_step("parallel(l1)"),), 5.0, None)
    assert snap.best_latency_us == 10.0 and len(snap.recent) == 1
    snap.reject(Rejection(step="b", reason="why b"))
    snap.reject(Rejection(step="c", reason="why c"))
    assert [r.step for r in live.rejections] == ["a"]
    live.merge_rejections(snap)
    assert [r.step for r in live.rejections] == ["a", "b", "c"]
    assert live.best_latency_us == 5.0
    live.merge_rejections(snap)  # merging twice adds nothing
    assert [r.step for r in live.rejections] == ["a", "b", "c"]
    assert isinstance(live.rejections[0], Rejection)
