"""LLMGuidedSearch under ms.relax_integration.tune_relax: two tasks (so clone() runs under the task
scheduler), then compile_relax and a VM run checked against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
import tvm_ffi
from tvm import relax
from tvm.s_tir import meta_schedule as ms
from tvm.script import relax as R

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.testing.strategy_conformance import (
    measure_backends,
    record_latency_us,
    replay_record,
)

pytestmark = pytest.mark.tuning


@tvm.script.ir_module
class MatmulSoftmax:
    @R.function
    def main(x: R.Tensor((32, 64), "float32"), w: R.Tensor((64, 32), "float32")) -> R.Tensor(
        (32, 32), "float32"
    ):
        with R.dataflow():
            y = R.matmul(x, w)
            z = R.nn.softmax(y, axis=-1)
            R.output(z)
        return z


def _reference(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    y = x @ w
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_tune_relax_two_tasks_then_compile_and_run(tmp_path):
    target = host_target()
    # Task extraction needs TIR (as relax.pipeline.static_shape_tuning_pipeline prepares it).
    mod = relax.transform.LegalizeOps()(MatmulSoftmax)
    tasks = ms.relax_integration.extract_tasks(mod, target)
    assert sorted(t.task_name for t in tasks) == ["matmul", "softmax"]

    database = ms.relax_integration.tune_relax(
        mod,
        params={},
        target=target,
        work_dir=str(tmp_path),
        max_trials_global=16,
        num_trials_per_iter=8,
        strategy=LLMGuidedSearch(),
        seed=0,
        **measure_backends(),
    )

    records = database.get_all_tuning_records()
    assert len(records) == 16
    by_task: dict[int, list] = {}
    for record in records:
        by_task.setdefault(tvm_ffi.structural_hash(record.workload.mod), []).append(record)
    assert len(by_task) == 2, "both tasks must get records"
    for task in tasks:
        best = database.query_tuning_record(task.dispatched[0], target, workload_name="main")
        assert best is not None and record_latency_us(best) is not None, task.task_name
    for record in records:
        replay_record(record)  # every trace is valid on its task

    executable = ms.relax_integration.compile_relax(database, MatmulSoftmax, target, params={})
    vm = relax.VirtualMachine(executable, tvm.cpu())
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (32, 64)).astype("float32")
    w = rng.uniform(-1, 1, (64, 32)).astype("float32")
    out = vm["main"](tvm.runtime.tensor(x), tvm.runtime.tensor(w)).numpy()
    np.testing.assert_allclose(out, _reference(x, w), rtol=1e-5, atol=1e-6)

    # The multi-task work dir is dataset material too (tuned once, checked here): lineage for
    # both tasks, and samples of both workloads, each workload in one split only.
    from tvm_llm_sched.database.lineage import read_lineage
    from tvm_llm_sched.dataset import DatasetConfig, build_dataset, load_samples, verify_dataset

    lineage = read_lineage(tmp_path)
    assert len(lineage.entries) == 16 and len({e.workload for e in lineage.entries}) == 2
    report = build_dataset([tmp_path], tmp_path / "dataset", DatasetConfig(formats=("chat",)))
    samples, _ = load_samples(tmp_path / "dataset")
    assert report.samples == len(samples) > 0
    splits = {s.workload_key: s.split for s in samples}
    assert len(splits) == 2 and set(splits.values()) == {"train", "validation"}
    assert verify_dataset(tmp_path / "dataset").rate == 1.0
