"""Floor programs: the hand schedules compute the workload, the exp pass computes exp."""

from __future__ import annotations

import numpy as np
import pytest

from tvm_llm_sched.bench.floors import exp_pass, full_reduction_schedules
from tvm_llm_sched.hardware import resolve_target
from tvm_llm_sched.verify import verify
from tvm_llm_sched.workloads import load_workload


def test_full_reduction_schedules_are_correct_and_vectorized():
    mod = load_workload("NRM:0").mod
    schedules = full_reduction_schedules(mod, lanes=(16, 64), unrolls=(0,), cores=(1, 2))
    assert list(schedules) == [
        "16 lanes, unroll 0, 1 core",
        "64 lanes, unroll 0, 1 core",
        "16 lanes, unroll 0, 2 cores",
        "64 lanes, unroll 0, 2 cores",
    ]
    for label, scheduled in schedules.items():
        script = scheduled.script()
        assert "T.vectorized(" in script, label
        assert ("T.parallel(" in script) == label.endswith("2 cores"), label
        report = verify(mod, scheduled, seeds=(0,), rtol=1e-3)
        assert report.ok, (label, report.message)


def test_full_reduction_schedules_need_a_reduction():
    with pytest.raises(ValueError, match="no reduction block"):
        full_reduction_schedules(exp_pass((4, 8)))


def test_exp_pass_computes_exp_in_parallel():
    import tvm

    mod = exp_pass((4, 8))
    assert "T.parallel(" in mod.script()
    fn = tvm.compile(mod, target=resolve_target())
    a = np.linspace(-2, 2, 32, dtype="float32").reshape(4, 8)
    b = tvm.runtime.tensor(np.zeros((4, 8), "float32"))
    fn(tvm.runtime.tensor(a), b)
    np.testing.assert_allclose(b.numpy(), np.exp(a), rtol=1e-5)
