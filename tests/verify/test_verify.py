"""Numerical verification of schedules against the unscheduled reference, on real builds."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm.script import tirx as T

from tvm_llm_sched.errors import VerificationError
from tvm_llm_sched.verify import Verifier, VerifyReport, tolerance_for, verify
from tvm_llm_sched.verify.tolerance import random_array
from tvm_llm_sched.workloads import load_workload


@pytest.fixture(scope="module")
def gmm():
    return load_workload("GMM:0").mod


def _scheduled_matmul(mod):
    """Register-tiled matmul: a local accumulator written back under the tile loops."""
    sch = tvm.s_tir.Schedule(mod)
    block = sch.get_sblock("Z")
    _, i, j, k = sch.get_loops(block)
    i_outer, i_inner = sch.split(i, [None, 4])
    j_outer, j_inner = sch.split(j, [None, 32])
    sch.reorder(i_outer, j_outer, k, i_inner, j_inner)
    sch.parallel(i_outer)
    sch.vectorize(j_inner)
    sch.reverse_compute_at(sch.cache_write(block, 0, "local"), j_outer)
    return sch


@T.prim_func(s_tir=True)
def _matmul_transposed(
    X: T.Buffer((1, 128, 128), "float32"),
    Y: T.Buffer((1, 128, 128), "float32"),
    Z: T.Buffer((1, 128, 128), "float32"),
):
    """Same signature as GMM:0 but computes X @ Y^T: a wrong candidate."""
    for b, i, j, k in T.grid(1, 128, 128, 128):
        with T.sblock("Z"):
            vb, vi, vj, vk = T.axis.remap("SSSR", [b, i, j, k])
            with T.init():
                Z[vb, vi, vj] = T.float32(0)
            Z[vb, vi, vj] = Z[vb, vi, vj] + X[vb, vi, vk] * Y[vb, vj, vk]


def test_unscheduled_and_hand_scheduled_pass(gmm):
    same = verify(gmm, gmm)
    assert same.ok and same.max_abs_err == 0.0 and same.seeds == (0, 1, 2)
    report = verify(gmm, _scheduled_matmul(gmm))
    assert report.ok, report.message
    assert report.max_rel_err < 1e-5
    assert report.raise_if_failed() is report


def test_wrong_program_fails_and_raises(gmm):
    report = verify(gmm, tvm.IRModule({"main": _matmul_transposed}))
    assert not report.ok
    assert report.max_rel_err > 0.1  # a real disagreement, not round-off
    assert "output Z" in report.message
    with pytest.raises(VerificationError, match=r"max_abs_err=.*max_rel_err="):
        report.raise_if_failed()


def test_softmax_compute_at_schedule_passes(softmax_schedule):
    reference, sch = softmax_schedule
    assert verify(reference, sch).ok


def test_metaschedule_design_spaces_pass():
    """Every post-order-apply design space of C1D (padding, tiling, cache_write) verifies."""
    from tvm_llm_sched.steps import design_space_schedules

    mod = load_workload("C1D:0").mod
    for space in design_space_schedules(mod, rand_state=5):
        report = verify(mod, space)
        assert report.ok, report.message


@pytest.fixture(scope="module")
def softmax_schedule():
    """A softmax schedule with compute_at and parallel/vectorize annotations, made by hand."""
    mod = load_workload("SFM:0").mod
    sch = tvm.s_tir.Schedule(mod)
    norm = sch.get_sblock("T_softmax_norm")
    row, col = sch.get_loops(norm)
    for name in ("T_softmax_expsum", "T_softmax_exp", "T_softmax_maxelem"):
        sch.compute_at(sch.get_sblock(name), row)
    sch.parallel(row)
    sch.vectorize(sch.get_loops(norm)[-1])
    return mod, sch


def test_candidate_build_failure_is_a_failed_report(gmm):
    sch = tvm.s_tir.Schedule(gmm)
    block = sch.get_sblock("Z")
    # Binding a CPU loop to a GPU thread axis does not build for llvm.
    sch.bind(sch.get_loops(block)[1], "threadIdx.x")
    report = verify(gmm, sch)
    assert not report.ok and report.max_abs_err == float("inf")
    assert "does not build" in report.message


def test_signature_mismatch_is_a_failed_report(gmm):
    other = load_workload("GMM:1").mod  # other shapes
    report = verify(gmm, other)
    assert not report.ok and "signature" in report.message


def test_verifier_reuses_reference_outputs(gmm):
    verifier = Verifier(gmm, seeds=(3,))
    first = verifier.check(gmm)
    cached = verifier._expected[3]
    assert verifier.check(_scheduled_matmul(gmm)).ok and first.ok
    assert verifier._expected[3] is cached


def _add_constant(constant: int):
    @T.prim_func(s_tir=True)
    def add(A: T.Buffer((16,), "int32"), B: T.Buffer((16,), "int32")):
        for i in range(16):
            with T.sblock("B"):
                vi = T.axis.spatial(16, i)
                B[vi] = A[vi] + constant

    return add


def test_integer_outputs_compare_exactly():
    add_one, add_two = _add_constant(1), _add_constant(2)
    assert verify(add_one, add_one).ok
    report = verify(add_one, add_two)
    assert not report.ok and report.max_abs_err == 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least one seed"):
        Verifier(load_workload("NRM:0").mod, seeds=())
    report = verify(load_workload("NRM:0").mod, "not a program")
    assert not report.ok and "not verifiable" in report.message


def test_tolerances_and_inputs():
    assert tolerance_for("int32").rtol == 0 and tolerance_for("int32").atol == 0
    assert tolerance_for("float16").rtol > tolerance_for("float32").rtol
    assert tolerance_for("float32", rtol=1e-2).rtol == 1e-2
    rng = np.random.default_rng(0)
    values = random_array(rng, (1000,), "float32")
    assert values.dtype == np.float32 and -1 <= values.min() and values.max() <= 1
    assert random_array(rng, (10,), "int8").dtype == np.int8


def test_report_failed_constructor():
    report = VerifyReport.failed("boom", (0,))
    assert not report.ok and report.max_rel_err == float("inf")
    with pytest.raises(VerificationError, match="boom"):
        report.raise_if_failed()


def _sum_of_squares(scale: float = 1.0):
    """NRM:2's shape: sqrt of the sum of 1M squares (times ``scale``, to make a wrong program)."""
    from tvm import te

    a = te.placeholder((1, 1024, 1024), name="A")
    i, j = te.reduce_axis((0, 1024), "i"), te.reduce_axis((0, 1024), "j")
    c = te.compute((1,), lambda b: te.sum(a[b, i, j] * a[b, i, j] * scale, axis=[i, j]), name="C")
    d = te.compute((1,), lambda b: te.sqrt(c[b]), name="D")
    return tvm.IRModule({"main": te.create_prim_func([a, d])})


def test_a_long_reduction_summed_more_accurately_than_the_reference_passes():
    """The unscheduled sequential float32 sum of 1M squares is itself ~2e-4 off; an rfactored
    schedule sums more accurately and missed it by more than rtol=1e-4 (NRM:2's tuned program
    failed verification). It now passes against the float64 twin; a program off by 0.5 % still
    fails."""
    reference = _sum_of_squares()
    sch = tvm.s_tir.Schedule(reference)
    *_, j = sch.get_loops(sch.get_sblock("C"))
    sch.rfactor(sch.split(j, [None, 64])[1], 0)
    report = verify(reference, sch)
    assert report.ok, report.message
    assert report.max_rel_err > 1e-4  # it did miss the float32 reference
    wrong = verify(reference, _sum_of_squares(scale=1.01))
    assert not wrong.ok and "error exceeds" in wrong.message


def _elementwise(body):
    """``B[i] = body(A[i])`` over 64 float32 elements."""
    from tvm import te

    a = te.placeholder((64,), name="A")
    b = te.compute((64,), lambda i: body(a[i]), name="B")
    return tvm.IRModule({"main": te.create_prim_func([a, b])})


@pytest.mark.parametrize(
    "reference, wrong",
    [
        # overflows in float32 only: the twin's finite values must not excuse a wrong program
        (lambda x: tvm.tirx.exp(x * 100.0), lambda x: x * 3.0),
        # rounds on purpose through float16: no twin (it would drop the rounding)
        (
            lambda x: x * 1e-3 + (x - x.astype("float16").astype("float32")),
            lambda x: x * 1.2e-3,
        ),
        # calls a float32 function by name: no twin (expf would get float64 arguments)
        (
            lambda x: tvm.tirx.call_pure_extern("float32", "expf", x),
            lambda x: tvm.tirx.const(0.0, "float32"),
        ),
    ],
    ids=["overflow", "float16-rounding", "extern-call"],
)
def test_the_float64_twin_never_excuses_a_wrong_program(reference, wrong):
    report = verify(_elementwise(reference), _elementwise(wrong))
    assert not report.ok, report


def test_a_reference_that_fails_at_run_time_is_a_verification_error():
    @T.prim_func(s_tir=True)
    def failing(A: T.Buffer((8,), "float32"), B: T.Buffer((8,), "float32")):
        assert A[0] > T.float32(2), "never on inputs in [-1, 1]"
        for i in range(8):
            with T.sblock("B"):
                vi = T.axis.remap("S", [i])
                B[vi] = A[vi]

    mod = tvm.IRModule({"main": failing})
    with pytest.raises(VerificationError, match="fails at run time"):
        verify(mod, mod)
