"""MetaSchedule's default LocalBuilder gets the fast tensor_intrin import in its workers.

Its workers are fresh processes each batch, and each imports ``tvm.s_tir.tensor_intrin`` for its
first build (20-40 s on a busy 2-core machine, around the builder's 30 s timeout). Constructing
``LLMGuidedSearch`` installs a worker initializer on ``Builder.create("local")``, the call
``ms.tune_tir`` and the Relax passes make their builder with.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tvm.s_tir.meta_schedule.builder import Builder, BuilderInput, LocalBuilder

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.tvm_compat import (
    BUILDER_FIX_ENV,
    WORKER_REPORT_ENV,
    fast_worker_imports,
    install_builder_fix,
)
from tvm_llm_sched.workloads import load_workload


def test_a_default_local_builder_worker_imports_tensor_intrin_fast(tmp_path, monkeypatch):
    report = tmp_path / "workers.txt"
    monkeypatch.setenv(WORKER_REPORT_ENV, str(report))  # the workers inherit the environment
    assert install_builder_fix()
    builder = Builder.create("local")  # default arguments, as ms.tune_tir makes it
    assert isinstance(builder, LocalBuilder) and builder.initializer is fast_worker_imports
    (result,) = builder.build([BuilderInput(load_workload("GMM:0").mod, host_target())])
    reported = report.read_text() if report.exists() else "no report"
    assert result.error_msg is None, (result.error_msg, reported)
    # Measured inside the worker: without the fix there is no report at all.
    seconds = [float(line.split()[1]) for line in report.read_text().splitlines()]
    assert seconds and max(seconds) < 15.0, seconds


def test_a_builder_with_its_own_initializer_is_left_alone():
    install_builder_fix()

    def mine() -> None:
        pass

    assert Builder.create("local", initializer=mine).initializer is mine
    assert LocalBuilder().initializer is None  # a builder object the user makes is not touched


def test_the_fix_can_be_turned_off():
    code = (
        "from tvm_llm_sched.search import LLMGuidedSearch\n"
        "from tvm.s_tir.meta_schedule.builder import Builder\n"
        "LLMGuidedSearch()\n"
        "print(Builder.create('local').initializer)\n"
    )
    env = {**os.environ, BUILDER_FIX_ENV: "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "None"


@pytest.mark.tuning
def test_tune_tir_with_the_default_builder_builds_every_candidate(tmp_path):
    from tvm.s_tir import meta_schedule as ms

    from tvm_llm_sched import LLMGuidedSearch
    from tvm_llm_sched.measure import latency_us

    mod = load_workload("GMM:0").mod
    database = ms.tune_tir(
        mod,
        host_target(),
        str(tmp_path),
        max_trials_global=8,
        num_trials_per_iter=4,
        strategy=LLMGuidedSearch(),  # builder="local", the default
    )
    records = database.get_all_tuning_records()
    assert len(records) == 8
    assert all(latency_us(r) is not None for r in records)  # none failed to build
