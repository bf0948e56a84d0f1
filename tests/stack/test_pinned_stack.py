"""The pinned TVM stack tunes for real: ms.tune_tir + compile_tir on a small workload."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
import tvm_ffi
from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.tvm_compat import local_builder
from tvm_llm_sched.workloads import load_workload


def test_ffi_is_the_pinned_version():
    # apache-tvm-ffi 0.1.15.x segfaults MetaSchedule's TuneContext with apache-tvm 0.27.0.post1.
    assert tvm_ffi.__version__ == "0.1.14.post1"


@pytest.mark.tuning
def test_tune_tir_few_trials_then_compile_and_run(tmp_path):
    workload = load_workload("GMM:0")
    target = host_target()
    database = ms.tune_tir(
        workload.mod,
        target,
        str(tmp_path),
        max_trials_global=4,
        num_trials_per_iter=4,
        strategy="replay-trace",
        # TVM's default builder re-imports tensor_intrin in every worker (~25 s of CPU against a
        # 30 s timeout); the lean builder builds the same artifact without that import.
        builder=local_builder(),
        seed=0,
    )
    records = database.get_all_tuning_records()
    assert len(records) == 4
    assert any(r.run_secs and float(r.run_secs[0]) < 1e9 for r in records)
    sch = ms.tir_integration.compile_tir(database, workload.mod, target)
    assert sch is not None
    lib = tvm.compile(sch.mod, target=target)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 128, 128), dtype="float32")  # GMM:0 is (1,128,128) @ (1,128,128)
    y = rng.standard_normal((1, 128, 128), dtype="float32")
    device = tvm.cpu()
    args = [tvm.runtime.tensor(a, device) for a in (x, y, np.zeros((1, 128, 128), "float32"))]
    lib["main"](*args)
    np.testing.assert_allclose(args[2].numpy(), np.matmul(x, y), rtol=1e-4, atol=1e-4)
