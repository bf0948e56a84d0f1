"""Per-dtype tolerances and random inputs for numerical verification."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """Pass if ``max|cand - ref| <= atol + rtol * max|ref|`` for an output.

    The relative part scales with the output's largest magnitude rather than per element, so
    long reductions reassociated by a schedule (tiling, vectorisation, rfactor) do not fail on
    elements that cancel to nearly zero.
    """

    rtol: float
    atol: float

    def allows(self, abs_err: float, scale: float) -> bool:
        """Whether an absolute error is acceptable for an output of magnitude ``scale``."""
        return abs_err <= self.atol + self.rtol * scale


_FLOAT_TOLERANCES = {
    "float64": Tolerance(rtol=1e-9, atol=1e-12),
    "float32": Tolerance(rtol=1e-4, atol=1e-6),
    "float16": Tolerance(rtol=1e-2, atol=1e-3),
    "bfloat16": Tolerance(rtol=2e-2, atol=1e-2),
}
_EXACT = Tolerance(rtol=0.0, atol=0.0)


def is_float(dtype: str) -> bool:
    """Whether ``dtype`` (a TVM dtype string) is a floating-point type."""
    return dtype.startswith(("float", "bfloat"))


def tolerance_for(dtype: str, rtol: float | None = None, atol: float | None = None) -> Tolerance:
    """Default tolerance of ``dtype`` (ints and bools: exact), with user overrides for floats.

    Unknown float types (fp8) get the float16 tolerance widened tenfold.
    """
    if not is_float(dtype):
        return _EXACT
    base = _FLOAT_TOLERANCES.get(dtype, Tolerance(rtol=1e-1, atol=1e-2))
    return Tolerance(
        rtol=base.rtol if rtol is None else rtol, atol=base.atol if atol is None else atol
    )


def numpy_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype of a TVM dtype (bfloat16 and fp8 through ``ml_dtypes``).

    Raises
    ------
    TypeError
        If NumPy cannot hold the dtype.
    """
    try:
        return np.dtype(dtype)
    except TypeError:
        pass
    try:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, dtype))
    except (ImportError, AttributeError, TypeError) as exc:
        raise TypeError(f"dtype {dtype} has no NumPy equivalent") from exc


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Inputs that keep results finite and informative.

    Floats are uniform in [-1, 1] (exp/softmax stay in range, products and sums do not
    overflow even in float16); integers are in [0, 8) so an integer input used as an index stays
    small; bools are fair coin flips.
    """
    target = numpy_dtype(dtype)
    if is_float(dtype):
        return rng.uniform(-1.0, 1.0, size=shape).astype(target)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.integers(0, 8, size=shape).astype(target)
