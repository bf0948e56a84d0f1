"""PyTorch for the model tests: skipped, with the install command, when it is not installed (the
README's test command leaves it out: see the README's Relax section for why)."""

from __future__ import annotations

import importlib.util

import pytest

from tvm_llm_sched.relax.models import TORCH_HINT


@pytest.fixture
def torch():
    """The ``torch`` module."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip(f"PyTorch models need PyTorch: {TORCH_HINT}")
    import torch as module

    return module
