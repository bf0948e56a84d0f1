"""Fixtures giving each hashing backend, so every test runs on native and pure Python."""

from __future__ import annotations

import pytest

from tvm_llm_sched.native import HashBackend, backends, find_library
from tvm_llm_sched.native.backend import _native_disabled


def _native_or_skip() -> HashBackend:
    found = backends()
    if "native" in found:
        return found["native"]
    if _native_disabled():
        pytest.skip("native backend disabled by TVM_LLM_SCHED_NATIVE=0")
    if find_library() is not None:
        pytest.fail(f"native library {find_library()} exists but did not load")
    pytest.skip("native extension not built (pip install . builds it)")


@pytest.fixture(scope="session", params=["python", "native"])
def impl(request: pytest.FixtureRequest) -> HashBackend:
    """Each backend in turn."""
    return backends()["python"] if request.param == "python" else _native_or_skip()


@pytest.fixture(scope="session")
def native() -> HashBackend:
    """The native backend (skipped only when it is genuinely not built)."""
    return _native_or_skip()


@pytest.fixture(scope="session")
def python_impl() -> HashBackend:
    """The pure-Python backend."""
    return backends()["python"]
