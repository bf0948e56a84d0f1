"""LLMGuidedSearch tunes programs unlike the ones it was developed on: an int8 matmul with int32
accumulation, an fp16 matmul, an argmax (a two-output comm-reducer), an embedding gather with
data-dependent indices, a function with two outputs, and a small transpose. Each run's records
reload from disk, never repeat a program, and compile to a program that verifies
(``python/bench_generality.py`` runs all of :data:`tvm_llm_sched.testing.programs.PROGRAMS`).
"""

from __future__ import annotations

import pytest

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.testing import strategy_conformance as kit
from tvm_llm_sched.testing.programs import PROGRAMS


@pytest.mark.tuning
@pytest.mark.parametrize(
    "name", ["matmul_int8", "matmul_fp16", "argmax", "gather", "two_outputs", "transpose_small"]
)
def test_tunes_and_verifies(name, tmp_path):
    from tvm.s_tir import meta_schedule as ms

    target = host_target(num_cores=2)
    mod = PROGRAMS[name]()
    kit.tune(mod, tmp_path, LLMGuidedSearch(), max_trials=4, num_trials_per_iter=4, target=target)
    records = ms.database.JSONDatabase(work_dir=str(tmp_path)).get_all_tuning_records()
    assert records
    kit.check_work_dir(tmp_path, mod, expected=len(records), target=target)
