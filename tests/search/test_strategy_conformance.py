"""The strategy conformance kit run against TVM's EvolutionarySearch (a check of the kit itself)
and against LLMGuidedSearch; and the kit catching strategies that break the contract."""

from __future__ import annotations

import pytest
import tvm
from tvm.ir.utils import derived_object
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.meta_schedule.arg_info import ArgInfo
from tvm.s_tir.meta_schedule.search_strategy import MeasureCandidate, PySearchStrategy

from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.testing import (
    ConformanceConfig,
    HandTuner,
    StrategyConformance,
    StrategySituations,
)
from tvm_llm_sched.testing import strategy_conformance as kit

pytestmark = pytest.mark.tuning


class TestEvolutionaryConformance(StrategyConformance):
    @pytest.fixture
    def strategy_factory(self):
        # The C++ reference; a small population keeps each iteration ~1 s (512 takes ~12 s).
        return lambda: ms.search_strategy.EvolutionarySearch(population_size=64)


class TestLLMGuidedConformance(StrategyConformance):
    # A convolution (with a padding block to inline or compute-at) next to GMM:0 elsewhere.
    conformance = ConformanceConfig(workload="C1D:0")

    @pytest.fixture
    def strategy_factory(self):
        return LLMGuidedSearch


@derived_object
class RandomSampling(PySearchStrategy):
    """Fresh design-space samples, deduplicated; ``flaw`` breaks one rule of the contract."""

    def __init__(self, flaw: str | None = None):
        self.flaw = flaw

    def _initialize_with_tune_context(self, context):
        self.context = context

    def pre_tuning(self, max_trials, num_trials_per_iter, design_spaces, database, cost_model):
        self.max_trials, self.per_iter = max_trials, num_trials_per_iter
        self.spaces, self.sent, self.seen = list(design_spaces), 0, set()

    def post_tuning(self):
        pass

    def generate_measure_candidates(self):
        if self.sent >= self.max_trials and self.flaw != "ignores max_trials":
            return None
        want = self.per_iter + (self.flaw == "oversized batch")
        out = []
        while len(out) < want:
            sch = self._sample()
            key = kit.schedule_key(sch)
            if key in self.seen and self.flaw != "repeats":
                continue
            self.seen.add(key)
            out.append(MeasureCandidate(sch, ArgInfo.from_entry_func(sch.mod)))
        self.sent += len(out)
        return out

    def notify_runner_results(self, measure_candidates, results):
        pass

    def clone(self):
        return RandomSampling(self.flaw)

    def _sample(self):
        space = self.spaces[self.sent % len(self.spaces)]
        sch = tvm.s_tir.Schedule(self.context.mod)
        tvm.s_tir.Trace(space.trace.insts, {}).apply_to_schedule(sch, remove_postproc=True)
        for postproc in self.context.space_generator.postprocs:
            postproc.apply(sch)
        if self.flaw == "repeats" and self.sent:
            return self.first
        self.first = sch
        return sch


@pytest.mark.parametrize(
    ("flaw", "caught"),
    [
        (None, None),
        ("repeats", "generated twice"),
        ("ignores max_trials", "still generating"),
        ("oversized batch", "a batch of 4 candidates"),
    ],
)
def test_the_kit_catches_contract_violations(flaw, caught):
    mod = kit.conformance_workload("GMM:0").mod
    tuner = HandTuner(RandomSampling(flaw), mod, cost_model="random")
    tuner.pre_tuning(6, 3)

    def run_and_check():
        tuner.run(max_iterations=4)
        kit.check_hand_run(tuner, mod, max_trials=6, num_trials_per_iter=3)

    if flaw is None:
        run_and_check()  # the positive control: a plain sampler conforms
    else:
        with pytest.raises(AssertionError, match=caught):
            run_and_check()


class TestLLMGuidedSituations(StrategySituations):
    """LLMGuidedSearch in every MetaSchedule setting the kit drives (item by item)."""

    @pytest.fixture
    def strategy_factory(self):
        return LLMGuidedSearch


class TestReplayTraceSituations(StrategySituations):
    """The control: TVM's ReplayTrace in the same settings (a check of the kit itself)."""

    # ReplayTrace replays fresh samples without dedup or a postprocessing check of its own.
    not_applicable = {
        "refusing postprocessor": "ReplayTrace sends candidates its postprocessor refused",
        "single program": "ReplayTrace measures the same program again",
        "small space": "ReplayTrace repeats programs of a small space",
    }

    @pytest.fixture
    def strategy_factory(self):
        return lambda: ms.search_strategy.ReplayTrace()
