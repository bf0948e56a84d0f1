"""Baselines measured next to the tuning runs: unscheduled program, NumPy, hardware peak."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import numpy as np

from ..hardware import detect_cpu
from ..measure.timing import EvaluatorSettings, arg_shapes, random_arrays, time_unscheduled
from ..workloads import Workload
from .records import References


def matmul_operands(workload: Workload) -> tuple[np.ndarray, np.ndarray] | None:
    """Random inputs if the workload's buffers are shaped like ``C = A @ B`` (``A[..., n, k]``,
    ``B[..., k, m]``, ``C[..., n, m]``, batch dims broadcast); otherwise ``None``.

    Shapes alone do not prove it is a matmul: :func:`measure_references` also checks the
    program's output against ``np.matmul``.
    """
    shapes = arg_shapes(workload.mod)
    if len(shapes) != 3 or len({dtype for _, dtype in shapes}) != 1:
        return None
    (a_shape, _), (b_shape, _), (c_shape, _) = shapes
    if len(a_shape) < 2 or len(b_shape) < 2 or a_shape[-1] != b_shape[-2]:
        return None
    try:
        out = np.broadcast_shapes(a_shape[:-2], b_shape[:-2]) + (a_shape[-2], b_shape[-1])
    except ValueError:
        return None
    if out != c_shape:
        return None
    a, b = random_arrays(shapes[:2])
    return a, b


_NUMPY_TIMER = """
import json, sys, time
import numpy as np
a_shape, b_shape, dtype, repeats = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
a = rng.uniform(-1, 1, size=a_shape).astype(dtype)
b = rng.uniform(-1, 1, size=b_shape).astype(dtype)
out = np.matmul(a, b)
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter()
    np.matmul(a, b, out=out)
    best = min(best, time.perf_counter() - start)
print(best)
"""


def time_numpy_matmul(a: np.ndarray, b: np.ndarray, repeats: int) -> float:
    """Best-of-``repeats`` seconds of ``np.matmul`` on arrays shaped like ``a`` and ``b``.

    Timed in a fresh Python process: in this one, TVM's runtime thread pool (spinning workers)
    slows OpenBLAS's threads by two orders of magnitude.
    """
    spec = json.dumps([list(a.shape), list(b.shape), str(a.dtype), repeats])
    done = subprocess.run(
        [sys.executable, "-c", _NUMPY_TIMER, spec],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure_references(workload: Workload, target: Any, settings: EvaluatorSettings) -> References:
    """Measure the unscheduled program and (for matmuls) NumPy; read the fp32 peak.

    Failures become notes, never exceptions: a reference that cannot be measured is reported
    as missing.
    """
    notes: list[str] = []
    operands = matmul_operands(workload)
    unscheduled, output = math.inf, None
    try:
        unscheduled, output = time_unscheduled(
            workload, target, settings, check=operands and list(operands)
        )
    except Exception as exc:  # a workload TVM cannot build unscheduled is still tunable
        notes.append(f"unscheduled build/run failed: {exc}")
    numpy_us = None
    if operands is None:
        notes.append("no NumPy reference: not a matmul-shaped workload")
    elif output is None or not np.allclose(output, np.matmul(*operands), rtol=1e-3, atol=1e-3):
        notes.append(
            "no NumPy reference: matmul-shaped, but the program's output is not np.matmul's"
        )
    else:
        numpy_us = time_numpy_matmul(*operands, settings.numpy_repeats) * 1e6
        notes.append(
            f"NumPy {np.__version__}: np.matmul {operands[0].shape} @ {operands[1].shape} "
            f"{operands[0].dtype} (output checked against the program's), fresh process, best of "
            f"{settings.numpy_repeats}, BLAS threads as configured"
        )
    cpu = detect_cpu(target)
    target_text = str(target)
    if target_text.startswith("{"):
        target_text = json.dumps(json.loads(target_text), sort_keys=True)
    return References(
        workload=workload.name,
        flops=workload.flops,
        unscheduled_us=unscheduled * 1e6,
        numpy_us=numpy_us,
        peak_gflops=cpu.peak_fp32_gflops,
        peak_formula=cpu.peak_formula,
        cpu=cpu.summary(),
        target=target_text,
        notes=notes,
    )
