"""The fast tensor_intrin import gives TVM the same frames it reads."""

from __future__ import annotations

import inspect
import sys

import pytest

from tvm_llm_sched.tvm_compat import _patched_stack, _shallow_stack, preload_tensor_intrin


def _both_stacks():
    return _shallow_stack(), inspect.stack()


def test_shallow_stack_matches_inspect_on_the_frames_tvmscript_reads():
    fast, reference = _both_stacks()
    assert len(fast) == len(reference)
    for mine, theirs in zip(fast, reference, strict=True):
        assert mine.frame is theirs.frame
        assert (mine.lineno, mine.function) == (theirs.lineno, theirs.function)
    # TVMScript's is_defined_in_class reads frames[2].code_context.
    assert [f.code_context for f in fast[:3]] == [f.code_context for f in reference[:3]]


def test_patch_is_scoped_and_import_works():
    original = inspect.stack
    with _patched_stack():
        assert inspect.stack is _shallow_stack
    assert inspect.stack is original
    preload_tensor_intrin()
    assert "tvm.s_tir.tensor_intrin" in sys.modules
    from tvm.s_tir import meta_schedule as ms

    assert ms.TuneContext is not None


def test_require_xgboost_names_the_install_command(monkeypatch):
    """No XGBoost distribution is a core dependency: a missing one fails before any tuning."""
    import importlib.util

    from tvm_llm_sched.errors import DependencyError
    from tvm_llm_sched.tvm_compat import require_xgboost

    require_xgboost()  # installed here (the test command installs the cpu extra)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "xgboost" else real(name, *a)
    )
    with pytest.raises(DependencyError, match=r"tvm-llm-sched\[cpu\]") as caught:
        require_xgboost()
    assert isinstance(caught.value, ImportError)
