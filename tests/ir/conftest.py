"""Fixtures of the IR tests: workloads and MetaSchedule design-space samples, built once."""

from __future__ import annotations

import functools

import pytest


@functools.cache
def workload_mod(name: str):
    from tvm_llm_sched.workloads import load_workload

    return load_workload(name).mod


@functools.cache
def design_spaces(name: str) -> tuple:
    """All post-order-apply design spaces of a workload (traced schedules with decisions).

    The first TuneContext of a process imports ``tvm.s_tir.tensor_intrin`` (~30 s here).
    """
    from tvm.s_tir import meta_schedule as ms

    from tvm_llm_sched.hardware import host_target

    mod = workload_mod(name)
    ctx = ms.TuneContext(
        mod=mod,
        target=host_target(),
        space_generator="post-order-apply",
        search_strategy="replay-trace",
        num_threads=1,
        rand_state=11,
    )
    return tuple(ctx.space_generator.generate_design_space(mod))


@pytest.fixture
def mods():
    return workload_mod


@pytest.fixture
def spaces():
    return design_spaces
