"""The pinned TVM stack tunes for real: ms.tune_tir + compile_tir on a small workload."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
import tvm_ffi
from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.hardware import host_target
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
        seed=0,
    )
    records = database.get_all_tuning_records()
    assert len(records) == 4
    assert any(r.run_secs and float(r.run_secs[0]) < 1e9 for r in records)
    sch = ms.tir_integration.compile_tir(database, workload.mod, target)
    assert sch is not None
    lib = tvm.compile(sch.mod, target=target)
    rng = np.random.default_rng(0)
    params = workload.mod["main"].params
    buffers = [workload.mod["main"].buffer_map[p] for p in params]
    arrays = [rng.standard_normal([int(d) for d in b.shape]).astype(b.dtype) for b in buffers]
    device = tvm.cpu()
    tensors = [tvm.runtime.tensor(a, device) for a in arrays]
    lib["main"](*tensors)
    x, y = arrays[0], arrays[1]
    np.testing.assert_allclose(tensors[2].numpy(), np.matmul(x, y), rtol=1e-4, atol=1e-4)
