"""Suite-wide setup."""

from __future__ import annotations

import pytest

from tvm_llm_sched.tvm_compat import preload_tensor_intrin


@pytest.fixture(scope="session", autouse=True)
def _fast_tensor_intrin_import() -> None:
    # The first ms.TuneContext imports tvm.s_tir.tensor_intrin (30-40 s unpatched): once, fast.
    preload_tensor_intrin()
