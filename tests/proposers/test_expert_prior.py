"""The expert policy's prior, as ``ExpertPolicy.prior`` exposes it to offline tools
(``python/prior_fit.py``): a score in (0, 1] that the policy's own steps raise."""

from __future__ import annotations

import pytest

from tvm_llm_sched.hardware import detect_cpu, host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.search.chain import follow
from tvm_llm_sched.search.facts import state_facts
from tvm_llm_sched.steps import State
from tvm_llm_sched.workloads import load_workload


@pytest.mark.parametrize("spec", ["GMM:0", "C2D:0"])
def test_the_policys_steps_do_not_lower_its_prior(spec):
    mod = load_workload(spec).mod
    cpu = detect_cpu(host_target())
    raised = 0
    for state in State.design_spaces(mod, host_target(), rand_state=3):
        before = ExpertPolicy.prior(state_facts(state, cpu))
        states, _ = follow(ExpertPolicy(), state, workload=spec, target=host_target(), depth=6)
        after = ExpertPolicy.prior(state_facts(states[-1], cpu)) if states else before
        assert 0 < before <= 1 and 0 < after <= 1
        assert after >= before - 1e-9, (before, after)
        raised += after > before
    assert raised, "no chain moved towards a better-scored assignment"
