"""Facts read from TVM: ``_uses`` looks inside arithmetic; compute locations name their block."""

from __future__ import annotations

from tvm import tirx

from tvm_llm_sched.search.facts import _uses


def test_uses_sees_a_variable_inside_arithmetic():
    i, j = tirx.Var("i", "int32"), tirx.Var("j", "int32")
    assert _uses(i * 64 + j, i) and _uses(i * 64 + j, j)
    assert not _uses(i * 64, j)


def test_compute_location_facts_name_the_block_the_ir_names():
    """Facts and step IR agree on which block a compute-location decision moves, also for a
    block the trace reached through ``get_producers`` (AddRFactor's rf blocks), not by name."""
    import re

    from tvm_llm_sched.hardware import host_target
    from tvm_llm_sched.ir import render
    from tvm_llm_sched.proposers.facts import ComputeLocationDecision
    from tvm_llm_sched.search.facts import decision_facts
    from tvm_llm_sched.steps import design_space_schedules
    from tvm_llm_sched.workloads import load_workload

    mod = load_workload("SFM:0").mod
    for sch in design_space_schedules(mod, host_target(), rand_state=0):
        shown = dict(re.findall(r"(?m)^(d\d+) compute_location\((\S+?)\)=", render(sch)))
        facts = {
            f.name: f.block
            for f in decision_facts(sch, mod)
            if isinstance(f, ComputeLocationDecision)
        }
        assert facts == shown
        assert all(facts.values()), facts  # every block is named
