"""MetaSchedule's default runner measures tasks that index with an integer input.

TVM 0.27's measurement fill writes float bit patterns into int32/int64 tensors, so a ``take``
(an embedding lookup) reads far out of bounds and kills the runner's worker. The fix zero-fills
wide integer inputs of runners made with ``Runner.create("local")`` and of ``local_runner()``.
"""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm import te, topi
from tvm.s_tir.meta_schedule.arg_info import ArgInfo
from tvm.s_tir.meta_schedule.builder import BuilderInput
from tvm.s_tir.meta_schedule.runner import LocalRunner, Runner, RunnerInput

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.tvm_compat import (
    alloc_in_bounds_arguments,
    install_runner_fix,
    local_builder,
    local_runner,
)


def _take_module() -> tvm.IRModule:
    table = te.placeholder((1000, 16), "float32", name="table")
    index = te.placeholder((8,), "int64", name="index")
    rows = topi.take(table, index, axis=0)
    return tvm.IRModule({"main": te.create_prim_func([table, index, rows])})


def test_wide_integer_inputs_are_zero_and_the_rest_filled_as_before():
    info = [
        ["TENSOR", "int64", [64]],
        ["TENSOR", "int32", [64]],
        ["TENSOR", "int8", [64]],
        ["TENSOR", "float32", [64]],
    ]
    (args,) = alloc_in_bounds_arguments(tvm.cpu(), info, 1)
    wide64, wide32, narrow, real = (a.numpy() for a in args)
    assert not wide64.any() and not wide32.any()
    assert narrow.min() >= 1 and narrow.max() <= 9  # TVM's own fill, kept for 8-bit integers
    assert real.min() >= 1.0 and real.max() < 10.0 and np.unique(real).size > 1


def test_runner_create_local_gets_the_fix_and_explicit_choices_are_kept():
    install_runner_fix()
    assert Runner.create("local").f_alloc_argument is alloc_in_bounds_arguments

    def mine(device, args_info, alloc_repeat):
        return []

    assert Runner.create("local", f_alloc_argument=mine).f_alloc_argument is mine
    assert LocalRunner().f_alloc_argument is None  # a runner object the user makes is not touched
    with pytest.raises(ValueError, match="sets the allocation"):
        local_runner(f_alloc_argument=mine)


@pytest.mark.parametrize("make_runner", ["create", "local_runner"])
def test_a_take_task_is_measured(make_runner):
    mod = _take_module()
    (built,) = local_builder().build([BuilderInput(mod, host_target())])
    assert built.error_msg is None, built.error_msg
    install_runner_fix()
    runner = Runner.create("local") if make_runner == "create" else local_runner()
    runner_input = RunnerInput(built.artifact_path, "cpu", ArgInfo.from_prim_func(mod["main"]))
    (future,) = runner.run([runner_input])
    result = future.result()
    # Without the fix: "Subprocess terminated" (the worker dies reading out of bounds).
    assert result.error_msg is None, result.error_msg
    assert result.run_secs and all(float(s) > 0 for s in result.run_secs)
