"""The expert policy's prior, as ``ExpertPolicy.prior`` exposes it to offline tools
(``python/prior_fit.py``): a score in (0, 1] that the policy's own steps raise."""

from __future__ import annotations

import pytest

from tvm_llm_sched.hardware import detect_cpu, host_target
from tvm_llm_sched.proposers import ExpertPolicy
from tvm_llm_sched.proposers.facts import CategoricalDecision, CpuFacts, Facts, TileDecision
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


def _matmul_facts(i: tuple[int, ...], j: tuple[int, ...], k: tuple[int, ...], unroll: int) -> Facts:
    """A 64 x 256 x 128 matmul block's decisions as MetaSchedule's CPU tiling samples them
    (spatial i, j in 4 levels, reduction k in 2, one auto-unroll depth), on a 16-lane core."""
    tile = {"block": "C", "max_innermost": 64}
    return Facts(
        decisions=(
            TileDecision(name="d0", value=i, extent=64, n=4, iter="i", **tile),
            TileDecision(
                name="d1", value=j, extent=256, n=4, iter="j", output_innermost=True, **tile
            ),
            TileDecision(name="d2", value=k, extent=128, n=2, iter="k", reduction=True, **tile),
            CategoricalDecision(
                name="d3",
                value=(0, 16, 64, 512).index(unroll),
                candidates=(0, 16, 64, 512),
                target="meta_schedule.unroll_explicit",
            ),
        ),
        cpu=CpuFacts(lanes=16, cores=2, simd_bits=512, l1d_kib=48, l2_kib=1024),
    )


def test_the_prior_counts_the_accumulator_chains_the_unroller_exposes():
    # One vector of j innermost under a 4-step inner k: one FMA chain unless the unroller also
    # flattens the 8 rows of i one level out (8 x 4 = 32 steps, within 64 but not within 16).
    rows_one_level_out = ExpertPolicy.prior(_matmul_facts((2, 4, 8, 1), (4, 4, 1, 16), (32, 4), 64))
    rows_not_unrolled = ExpertPolicy.prior(_matmul_facts((2, 4, 8, 1), (4, 4, 1, 16), (32, 4), 16))
    rows_innermost = ExpertPolicy.prior(_matmul_facts((2, 4, 1, 8), (4, 4, 1, 16), (32, 4), 16))
    # The unroll prior scores 16 and 64 alike, so the difference is the chains: 8 against 1.
    assert rows_one_level_out / rows_not_unrolled == pytest.approx(8**0.5)
    # Rows in the innermost tile are chains too (scored down by the innermost-rows rule instead).
    assert rows_innermost > rows_not_unrolled
    # Four vectors of j innermost are four chains with no unrolling at all.
    wide = ExpertPolicy.prior(_matmul_facts((2, 4, 8, 1), (1, 4, 1, 64), (32, 4), 0))
    narrow = ExpertPolicy.prior(_matmul_facts((2, 4, 8, 1), (1, 16, 1, 16), (32, 4), 0))
    assert wide > narrow
