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
    from tvm_llm_sched.steps import design_space_schedules

    return tuple(design_space_schedules(workload_mod(name), rand_state=11))


@pytest.fixture
def mods():
    return workload_mod


@pytest.fixture
def spaces():
    return design_spaces
