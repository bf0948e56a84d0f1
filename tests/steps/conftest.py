"""Shared fixtures of the step tests: cached workloads and design-space states."""

from __future__ import annotations

import functools

import pytest


@functools.cache
def workload_mod(name: str):
    from tvm_llm_sched.workloads import load_workload

    return load_workload(name).mod


@functools.cache
def design_space(name: str):
    """The state of a workload's first design space, decisions sampled with a fixed seed."""
    from tvm_llm_sched.steps import State

    return State.design_spaces(workload_mod(name), rand_state=7)[0]


@pytest.fixture
def mods():
    return workload_mod


@pytest.fixture
def spaces():
    return design_space
