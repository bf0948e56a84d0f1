"""Numerical equivalence of a scheduled program with its unscheduled reference.

Both are compiled for the same target and run on the same random inputs (one draw per seed);
every output buffer (a parameter some block writes) is compared. The compiled reference and its
outputs are kept in a small cache, so verifying many candidates of one workload compiles and
runs the reference once per seed.

A long float32 reduction is rounded in the unscheduled program too: a sequential sum
of the 1M squares of NRM:2 is 2e-4 off the true value, so a correct rfactored schedule, which
sums more accurately, can miss the reference by more than the tolerance. A candidate that misses
gets a second comparison against a float64 twin of the reference (the same program with float32
widened; only for float32-only programs without calls by name or bit reinterpretation): a float32
output passes if it is as close to the twin as the tolerance plus the reference's own error
against the twin allow, and that error is finite and at most 20 rtols.
"""

from __future__ import annotations

import collections
import re
from typing import Any

import numpy as np

from ..errors import VerificationError
from ..ir.renderer import main_func, written_buffers
from .report import VerifyReport
from .tolerance import Tolerance, random_array, tolerance_for

_CACHE_SIZE = 8
_cache: collections.OrderedDict[tuple, Verifier] = collections.OrderedDict()


def _as_module(program: Any) -> Any:
    """The program as an IRModule whose one PrimFunc is ``main``."""
    import tvm

    func = main_func(program)
    return tvm.IRModule({"main": func.with_attr("global_symbol", "main")})


def _signature(func: Any) -> list[tuple[tuple[int, ...], str]]:
    """(shape, dtype) of every parameter, in order.

    Raises
    ------
    ValueError
        For scalar or symbolically-shaped parameters (no concrete input can be drawn).
    """
    from tvm.tirx.buffer import is_buffer_var

    signature = []
    for param in func.params:
        if not is_buffer_var(param):
            raise ValueError(
                f"parameter {param.name} is a scalar; only buffer parameters are supported"
            )
        try:
            shape = tuple(int(dim) for dim in param.shape)
        except TypeError:
            raise ValueError(
                f"parameter {param.name} has a symbolic shape {list(param.shape)}"
            ) from None
        signature.append((shape, str(param.dtype)))
    return signature


def _compile(mod: Any, target: Any) -> Any:
    import tvm

    return tvm.compile(mod, target=target)["main"]


# What stops a twin: another float type (a cast through it may round on purpose), vector types,
# calls by name (``expf`` stays a float32 function) and bit-level reinterpretation.
_TWIN_BLOCKERS = re.compile(
    r'"(b?float(16|64)|float8\w*|float32x\d+)"|T\.(b?float(16|64)|float32x\d+)\('
    r"|call_extern|call_pure_extern|call_llvm|reinterpret"
)
# The reference's own rounding error may widen the tolerance by at most this many rtols: NRM:2's
# 2e-4 fits; a twin that differs more from the reference means something else.
_MAX_OWN_ERROR_RTOLS = 20


def _float64_twin(module: Any) -> Any:
    """A float32-only ``module`` with its buffers, constants and casts widened to float64 (through
    its TVMScript text), or ``None``: another float type, vector types, calls by name or bit
    reinterpretation in the program (the widened text would mean something else), or a printer
    or parser that refuses it."""
    import tvm
    from tvm.runtime import script_printer

    try:
        # Every buffer's dtype spelled out: the printer leaves out the default (float32).
        config = script_printer.PrinterConfig(buffer_dtype="void")
        text = script_printer._script(module, config)
    except Exception:  # a printer without that entry point: no second chance
        return None
    if _TWIN_BLOCKERS.search(text):
        return None
    text = text.replace('"float32"', '"float64"').replace("T.float32(", "T.float64(")
    try:
        return tvm.script.from_source(text)
    except Exception:  # a program whose text does not survive the rewrite: no second chance
        return None


def _run(function: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
    import tvm

    device = tvm.cpu()
    tensors = [tvm.runtime.tensor(array, device) for array in arrays]
    function(*tensors)
    return [tensor.numpy() for tensor in tensors]


def _compare(
    reference: np.ndarray, candidate: np.ndarray, tolerance: Tolerance
) -> tuple[float, float, str]:
    """(abs error, error relative to the reference scale, problem or "") of one output."""
    ref = reference.astype(np.float64) if reference.dtype != bool else reference.astype(np.int64)
    cand = candidate.astype(ref.dtype)
    ref_nan, cand_nan = np.isnan(ref), np.isnan(cand)
    if np.any(ref_nan != cand_nan):
        return float("inf"), float("inf"), f"NaN at {int(np.sum(ref_nan != cand_nan))} elements"
    finite = np.isfinite(ref)
    if np.any(ref[~finite & ~ref_nan] != cand[~finite & ~ref_nan]) or not np.all(
        np.isfinite(cand[finite])
    ):
        return float("inf"), float("inf"), "Inf where the reference is finite (or vice versa)"
    if not np.any(finite):
        return 0.0, 0.0, ""
    abs_err = float(np.max(np.abs(cand[finite] - ref[finite])))
    scale = float(np.max(np.abs(ref[finite])))
    rel_err = abs_err / scale if scale > 0 else (0.0 if abs_err == 0 else float("inf"))
    problem = (
        ""
        if tolerance.allows(abs_err, scale)
        else f"error exceeds rtol={tolerance.rtol:g}, atol={tolerance.atol:g}"
    )
    return abs_err, rel_err, problem


class Verifier:
    """A compiled reference with its outputs per seed, checking candidates against it.

    Parameters
    ----------
    reference : tvm.IRModule | tvm.tirx.PrimFunc | tvm.s_tir.Schedule
        The unscheduled program.
    target : tvm.target.Target | str | dict | None
        Anything :func:`~tvm_llm_sched.hardware.resolve_target` accepts (``None``: the host).
    seeds : tuple[int, ...]
        One random input draw per seed.
    rtol, atol : float | None
        Override the per-dtype tolerances of float outputs (ints are always exact).

    Raises
    ------
    VerificationError
        If the reference itself has unsupported parameters or does not build (and from
        :meth:`check`, if it fails at run time).

    Examples
    --------
    >>> from tvm_llm_sched.workloads import load_workload
    >>> mod = load_workload("GMM:0").mod
    >>> Verifier(mod).check(mod).ok
    True
    """

    def __init__(
        self,
        reference: Any,
        target: Any = None,
        *,
        seeds: tuple[int, ...] = (0, 1, 2),
        rtol: float | None = None,
        atol: float | None = None,
    ):
        from ..hardware import resolve_target

        self.target = resolve_target(target)
        self.seeds = tuple(int(seed) for seed in seeds)
        if not self.seeds:
            raise ValueError("verification needs at least one seed")
        self.module = _as_module(reference)
        func = self.module["main"]
        try:
            self.signature = _signature(func)
            self._function = _compile(self.module, self.target)
        except Exception as exc:  # TVM raises many error types; the reference is the caller's bug
            raise VerificationError(
                f"the reference program cannot be verified against: {exc}"
            ) from exc
        written = written_buffers(func)
        self.outputs = [i for i, param in enumerate(func.params) if param.name in written]
        if not self.outputs:
            raise VerificationError("the reference program writes no parameter: nothing to compare")
        self.tolerances = [tolerance_for(self.signature[i][1], rtol, atol) for i in self.outputs]
        self._expected: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        self._twin: Any = None  # the float64 twin's function; False when it cannot be built
        self._twin_expected: dict[int, list[np.ndarray]] = {}

    def _case(self, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Inputs of one seed and the reference outputs on them (computed once)."""
        if seed not in self._expected:
            rng = np.random.default_rng(seed)
            inputs = [random_array(rng, shape, dtype) for shape, dtype in self.signature]
            try:
                results = _run(self._function, [array.copy() for array in inputs])
            except Exception as exc:  # the caller's program fails on random inputs
                raise VerificationError(
                    f"the reference program fails at run time (seed {seed}): {_first_line(exc)}"
                ) from exc
            self._expected[seed] = (inputs, [results[i] for i in self.outputs])
        return self._expected[seed]

    def _twin_outputs(self, seed: int) -> list[np.ndarray] | None:
        """The float64 twin's outputs on the seed's inputs (widened), or ``None`` without one."""
        if self._twin is None:
            twin = _float64_twin(self.module)
            try:
                self._twin = _compile(twin, self.target) if twin is not None else False
            except Exception:  # the widened program does not build: no second chance
                self._twin = False
        if self._twin is False:
            return None
        if seed not in self._twin_expected:
            inputs, _ = self._case(seed)
            widened = [
                a.astype(np.float64) if dtype == "float32" else a.copy()
                for a, (_, dtype) in zip(inputs, self.signature, strict=True)
            ]
            try:
                results = _run(self._twin, widened)
            except Exception:  # the widened program fails where the reference ran: no twin
                self._twin = False
                return None
            self._twin_expected[seed] = [results[i] for i in self.outputs]
        return self._twin_expected[seed]

    def _within_rounding(self, seed: int, position: int, result: np.ndarray) -> bool:
        """Whether a float output that missed the reference is as close to the float64 twin's
        output as the tolerance plus the reference's own rounding error (bounded) allow."""
        index = self.outputs[position]
        if self.signature[index][1] != "float32":
            return False  # integer outputs stay exact; other floats get no twin
        twin = self._twin_outputs(seed)
        if twin is None:
            return False
        tolerance = self.tolerances[position]
        _, own, problem = _compare(twin[position], self._case(seed)[1][position], tolerance)
        if problem.startswith(("NaN", "Inf")) or not own <= _MAX_OWN_ERROR_RTOLS * tolerance.rtol:
            return False  # the twin means something else than the reference (or overflows less)
        widened = Tolerance(rtol=tolerance.rtol + own, atol=tolerance.atol)
        return not _compare(twin[position], result, widened)[2]

    def check(self, candidate: Any) -> VerifyReport:
        """Compare ``candidate`` (IRModule, PrimFunc or Schedule) with the reference.

        A candidate that does not build, does not run, or has another signature gives a failed
        report, never an exception.
        """
        try:
            module = _as_module(candidate)
            signature = _signature(module["main"])
        except (TypeError, ValueError) as exc:
            return VerifyReport.failed(f"candidate is not verifiable: {exc}", self.seeds)
        if signature != self.signature:
            return VerifyReport.failed(
                f"candidate signature {signature} differs from the reference {self.signature}",
                self.seeds,
            )
        try:
            function = _compile(module, self.target)
        except Exception as exc:  # any TVM lowering/codegen error means the candidate is unusable
            return VerifyReport.failed(f"candidate does not build: {_first_line(exc)}", self.seeds)
        worst_abs, worst_rel, problems = 0.0, 0.0, []
        for seed in self.seeds:
            inputs, expected = self._case(seed)
            try:
                results = _run(function, [array.copy() for array in inputs])
            except Exception as exc:  # a runtime assertion or error inside the compiled code
                return VerifyReport.failed(
                    f"candidate fails at run time: {_first_line(exc)}", self.seeds
                )
            for position, index in enumerate(self.outputs):
                abs_err, rel_err, problem = _compare(
                    expected[position], results[index], self.tolerances[position]
                )
                worst_abs, worst_rel = max(worst_abs, abs_err), max(worst_rel, rel_err)
                if problem and self._within_rounding(seed, position, results[index]):
                    problem = ""
                if problem:
                    name = module["main"].params[index].name
                    problems.append(f"output {name} (seed {seed}): {problem}")
        message = "ok" if not problems else "; ".join(problems[:3])
        return VerifyReport(
            ok=not problems,
            max_abs_err=worst_abs,
            max_rel_err=worst_rel,
            seeds=self.seeds,
            message=message,
        )


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:500]


def _verifier(
    reference: Any, target: Any, seeds: tuple[int, ...], rtol: Any, atol: Any
) -> Verifier:
    """A cached :class:`Verifier` for this reference and settings (LRU of a few entries)."""
    import tvm_ffi

    from ..hardware import resolve_target

    module = _as_module(reference)
    resolved = resolve_target(target)
    key = (tvm_ffi.structural_hash(module), str(resolved), tuple(seeds), rtol, atol)
    cached = _cache.get(key)
    if cached is not None and tvm_ffi.structural_equal(cached.module, module):
        _cache.move_to_end(key)
        return cached
    verifier = Verifier(module, resolved, seeds=tuple(seeds), rtol=rtol, atol=atol)
    _cache[key] = verifier
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return verifier


def verify(
    reference: Any,
    candidate: Any,
    target: Any = None,
    *,
    seeds: tuple[int, ...] = (0, 1, 2),
    rtol: float | None = None,
    atol: float | None = None,
) -> VerifyReport:
    """Check that ``candidate`` computes what ``reference`` computes.

    Parameters
    ----------
    reference : tvm.IRModule | tvm.tirx.PrimFunc
        The unscheduled program.
    candidate : tvm.IRModule | tvm.tirx.PrimFunc | tvm.s_tir.Schedule
        The scheduled program (same parameters, in the same order).
    target : tvm.target.Target | str | dict | None
        Where both are compiled and run (``None``: the host CPU).
    seeds : tuple[int, ...]
        One random input draw per seed; inputs are uniform in [-1, 1] for floats.
    rtol, atol : float | None
        Override the float tolerances (defaults: f32 ``rtol=1e-4, atol=1e-6``, f16
        ``1e-2/1e-3``, f64 ``1e-9/1e-12``); the relative part scales with each output's largest
        magnitude. Integer and bool outputs must match exactly.

    Returns
    -------
    VerifyReport
        ``ok`` with the largest errors, or a failed report with the reason (a candidate that
        does not build or run is a failed report, not an exception).

    Raises
    ------
    VerificationError
        Only if the *reference* cannot be built, fails at run time, or has nothing to compare.

    Examples
    --------
    >>> from tvm_llm_sched.workloads import load_workload
    >>> mod = load_workload("GMM:0").mod
    >>> verify(mod, mod).ok
    True
    """
    return _verifier(reference, target, seeds, rtol, atol).check(candidate)
