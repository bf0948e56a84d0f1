"""Structural proposer steps give tuning records that TVM loads back, and any that would not is
rejected before it is measured.

In TVM 0.27, replaying the trace of NRM:1's plain design space plus a split of an original loop
changes the workload module in place: the JSON database that holds such a record then fails to load
any record ("old_outputs.size() == new_outputs.size()"). The engine replays proposer candidates with
the root annotations last (which avoids it), and still checks that structural records reload,
rejecting the rest with a reason.
"""

from __future__ import annotations

import pytest
import tvm_ffi
from tvm.s_tir.meta_schedule.database import Workload

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.search.engine import Candidate, Frontier
from tvm_llm_sched.steps import State, parse_step
from tvm_llm_sched.tvm_compat import record_reloads


@pytest.fixture(scope="module")
def nrm(make_spy, make_engine):
    return make_engine("NRM:1", make_spy(first=_SPLIT), rand_state=1)


_SPLIT = "split(l1, [2, None])"  # C's second loop, untouched on the plain design space


def _has_rfactor(space) -> bool:
    return any(inst.kind.name == "RFactor" for inst in space.trace.insts)


def _plain(spaces):
    """The design space without AddRFactor (the order of the spaces depends on the target)."""
    [plain] = [space for space in spaces if not _has_rfactor(space)]
    return plain


def _rfactored(spaces):
    """An AddRFactor design space."""
    return next(space for space in spaces if _has_rfactor(space))


def _split_candidate(mod, space) -> Candidate:
    """The split applied on top of ``space`` as is: after the space's root annotations."""
    state = State.from_schedule(space, mod).apply(_SPLIT)
    steps = (parse_step(_SPLIT),)
    return Candidate(pre=state.schedule, origin="proposer", steps=steps, state=state)


def test_a_proposed_split_after_the_root_annotations_is_measurable_and_reloads(nrm):
    mod, spaces, engine = nrm
    proposed = engine.expand([Frontier(pre=_plain(spaces), latency_us=10.0)], width=1, budget=1)
    split = [c for c in proposed if c.steps == (parse_step(_SPLIT),)]
    assert split, [c.steps for c in proposed]
    ready = engine.finalize(split)
    assert len(ready) == 1 and record_reloads(ready[0].sch.trace, Workload(mod))
    assert tvm_ffi.structural_equal(ready[0].pre.mod, split[0].state.scheduled_mod)


def test_a_record_tvm_cannot_reload_is_rejected_with_a_reason(nrm):
    mod, spaces, engine = nrm
    bad = _split_candidate(mod, _plain(spaces))
    if record_reloads(bad.pre.trace, Workload(mod)):  # the TVM behaviour this guards against
        mcpu = host_target().attrs.get("mcpu", "generic")
        pytest.skip(f"the TVM 0.27 reload bug does not reproduce on this target ({mcpu})")
    assert engine.finalize([bad]) == []
    assert any("could not load" in r.reason for r in engine.history.rejections)


def test_structural_steps_whose_records_reload_are_kept(nrm):
    mod, spaces, engine = nrm
    good = _split_candidate(mod, _rfactored(spaces))  # an AddRFactor variant: reloads fine
    ready = engine.finalize([good])
    assert len(ready) == 1 and record_reloads(ready[0].sch.trace, Workload(mod))
