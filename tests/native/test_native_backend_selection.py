"""Which backend is active, the env switches, and the CI guard that native was built."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tvm_llm_sched
from tvm_llm_sched.native import backends, get_backend, native_backend, native_library_path


def test_expected_native_backend_is_active() -> None:
    """CI sets TVM_LLM_SCHED_EXPECT_NATIVE=1: a silent fallback to Python must fail there."""
    if os.environ.get("TVM_LLM_SCHED_EXPECT_NATIVE") != "1":
        pytest.skip("set TVM_LLM_SCHED_EXPECT_NATIVE=1 to require the native backend")
    assert native_backend() == "native", (
        "the native extension was expected but tvm_llm_sched runs on the pure-Python "
        f"fallback (package imported from {Path(tvm_llm_sched.__file__).parent})"
    )
    assert native_library_path() is not None and native_library_path().is_file()


def test_reexported_and_consistent() -> None:
    assert tvm_llm_sched.native_backend() == native_backend() in backends()
    assert get_backend() is backends()[native_backend()]
    assert get_backend("python").name == "python"
    with pytest.raises(ValueError, match="available"):
        get_backend("fortran")


def _backend_in_subprocess(**env: str) -> str:
    package_root = str(Path(tvm_llm_sched.__file__).resolve().parent.parent)
    result = subprocess.run(
        [sys.executable, "-c", "import tvm_llm_sched; print(tvm_llm_sched.native_backend())"],
        env={**os.environ, "PYTHONPATH": package_root, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=package_root,
    )
    return result.stdout.strip()


def test_env_forces_python_fallback() -> None:
    assert _backend_in_subprocess(TVM_LLM_SCHED_NATIVE="0") == "python"


def test_env_default_matches_this_process() -> None:
    if os.environ.get("TVM_LLM_SCHED_NATIVE", "1") == "0":
        pytest.skip("this process runs with TVM_LLM_SCHED_NATIVE=0")
    assert _backend_in_subprocess() == native_backend()
