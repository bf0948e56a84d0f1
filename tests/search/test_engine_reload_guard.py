"""A candidate whose tuning record TVM cannot load back is rejected before it is measured.

In TVM 0.27, replaying the trace of NRM:1's plain design space plus a split of an original loop
changes the workload module in place: the JSON database that holds such a record then fails to load
any record ("old_outputs.size() == new_outputs.size()"). Structural steps can come from an LLM, so
the engine checks that their records reload and rejects the rest with a reason.
"""

from __future__ import annotations

import pytest
from tvm.s_tir.meta_schedule.database import TuningRecord, Workload

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.search import LLMMutatorProbability, SearchConfig
from tvm_llm_sched.search.engine import Candidate, SearchEngine
from tvm_llm_sched.steps import State, design_space_context
from tvm_llm_sched.workloads import load_workload


@pytest.fixture(scope="module")
def nrm():
    mod = load_workload("NRM:1").mod
    ctx = design_space_context(mod, host_target(), rand_state=1)
    spaces = list(ctx.space_generator.generate_design_space(mod))
    engine = SearchEngine(
        mod=mod,
        target=ctx.target,
        design_spaces=spaces,
        postprocs=ctx.space_generator.postprocs,
        mutators={},
        mutator_probability=LLMMutatorProbability({"MutateTileSize": 1.0}),
        proposer=ExpertPolicy(),
        config=SearchConfig(),
        seed=1,
        workload_name="NRM:1",
    )
    return mod, spaces, engine


def _split_candidate(mod, space) -> Candidate:
    state = State.from_schedule(space, mod)
    step = f"split({state.names.loop_order[1]}, [2, None])"
    state = state.apply(step)
    return Candidate(pre=state.schedule, origin="proposer", steps=(step,), state=state)


def _reloads_twice(mod, sch) -> bool:
    record = TuningRecord(sch.trace, Workload(mod)).as_json()
    workload = Workload.from_json(Workload(mod).as_json())
    try:
        for _ in range(2):
            TuningRecord.from_json(record, workload)
    except Exception:
        return False
    return True


def test_a_record_tvm_cannot_reload_is_rejected_with_a_reason(nrm):
    mod, spaces, engine = nrm
    bad = _split_candidate(mod, spaces[0])  # the plain design space
    assert not _reloads_twice(mod, bad.pre)  # the TVM behaviour this guards against
    assert engine.finalize([bad]) == []
    assert any("could not load" in r.reason for r in engine.history.rejections)


def test_structural_steps_whose_records_reload_are_kept(nrm):
    mod, spaces, engine = nrm
    good = _split_candidate(mod, spaces[1])  # AddRFactor's innermost variant: reloads fine
    ready = engine.finalize([good])
    assert len(ready) == 1 and _reloads_twice(mod, ready[0].sch)
