"""``facts._uses`` looks inside arithmetic: TVM 0.27's ``Add``/``Mul`` nodes have no ``dtype``."""

from __future__ import annotations

from tvm import tirx

from tvm_llm_sched.search.facts import _uses


def test_uses_sees_a_variable_inside_arithmetic():
    i, j = tirx.Var("i", "int32"), tirx.Var("j", "int32")
    assert _uses(i * 64 + j, i) and _uses(i * 64 + j, j)
    assert not _uses(i * 64, j)
