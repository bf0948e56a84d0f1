"""Suite-wide setup, and the real local model (SmolLM2-135M-Instruct via llama.cpp).

Without the ``local-llm`` extra or the model wheel the tests using ``local_model`` skip, unless
``TVM_LLM_SCHED_EXPECT_LOCAL_MODEL=1`` (set by CI, whose test command installs both): then a
missing model fails them, so CI cannot pass without running the model.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from tvm_llm_sched.tvm_compat import preload_tensor_intrin


@pytest.fixture(scope="session", autouse=True)
def _fast_tensor_intrin_import() -> None:
    # The first ms.TuneContext imports tvm.s_tir.tensor_intrin (30-40 s unpatched): once, fast.
    preload_tensor_intrin()


def _missing() -> str | None:
    from tvm_llm_sched.serving.local_model import LocalModelError, bundled_gguf

    if importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp (the local-llm extra) is not installed"
    try:
        bundled_gguf()
    except LocalModelError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def local_model():
    """Skip (or, in CI, fail) when the local model cannot be served."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("TVM_LLM_SCHED_EXPECT_LOCAL_MODEL") == "1":
            pytest.fail(f"TVM_LLM_SCHED_EXPECT_LOCAL_MODEL=1 but {missing}")
        pytest.skip(missing)
