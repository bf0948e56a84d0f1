"""The expert policy's first proposals verify and beat the unscheduled program (real builds)."""

from __future__ import annotations

import pytest

from tvm_llm_sched.bench.expert import first_proposals

pytestmark = pytest.mark.tuning


@pytest.mark.parametrize("spec", ["GMM:0", "C2D:0", "DEP:0", "SFM:0"])
def test_first_proposals_verify_and_beat_unscheduled(spec):
    result = first_proposals(spec, depth=8)
    assert result.spaces, "no design space"
    assert all(space.verified for space in result.spaces), [
        (s.space, s.max_abs_err) for s in result.spaces if not s.verified
    ]
    assert all(space.steps for space in result.spaces), "the policy proposed nothing"
    assert result.best.expert_us < result.unscheduled_us
