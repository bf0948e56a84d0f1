"""Baselines measured next to the tuning runs: unscheduled program, NumPy, hardware peak."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from typing import Any

import numpy as np

from ..hardware import detect_cpu
from ..workloads import Workload
from .records import References


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluatorSettings:
    """How candidates and the unscheduled program are timed (MetaSchedule's LocalRunner defaults).

    Attributes
    ----------
    number, repeat, min_repeat_ms : int
        As in ``ms.runner.EvaluatorConfig`` / ``time_evaluator``: each of ``repeat`` results is the
        mean of ``number`` runs, ``number`` grown until a repeat lasts ``min_repeat_ms``.
    numpy_repeats : int
        NumPy reference: best of this many timed calls (after one warm-up).
    """

    number: int = 3
    repeat: int = 1
    min_repeat_ms: int = 100
    numpy_repeats: int = 50

    def evaluator_config(self) -> Any:
        """The same settings as an ``ms.runner.EvaluatorConfig``."""
        from tvm.s_tir.meta_schedule.runner import EvaluatorConfig

        return EvaluatorConfig(
            number=self.number,
            repeat=self.repeat,
            min_repeat_ms=self.min_repeat_ms,
            enable_cpu_cache_flush=False,
        )


def arg_shapes(mod: Any) -> list[tuple[tuple[int, ...], str]]:
    """(shape, dtype) of each argument of the module's ``main``."""
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo

    infos = ArgInfo.from_prim_func(mod["main"])
    return [(tuple(int(d) for d in info.shape), str(info.dtype)) for info in infos]


def _random_arrays(shapes: list[tuple[tuple[int, ...], str]]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.uniform(-1, 1, size=shape).astype(dtype) for shape, dtype in shapes]


class ModuleTimer:
    """A module built once for ``target``, timed on fixed arguments as often as asked.

    Parameters
    ----------
    mod : tvm.IRModule
        A module with a ``main`` PrimFunc.
    target : tvm.target.Target
        Target to build for.
    settings : EvaluatorSettings
        Timing settings of every call.
    arrays : list of numpy.ndarray
        Argument values (the output's initial value included).
    """

    def __init__(
        self, mod: Any, target: Any, settings: EvaluatorSettings, arrays: list[np.ndarray]
    ):
        import tvm

        rt_mod = tvm.compile(mod, target=target).mod
        device = tvm.cpu(0)
        self.args = [tvm.runtime.tensor(a, device=device) for a in arrays]
        self._evaluator = rt_mod.time_evaluator(
            "main",
            device,
            number=settings.number,
            repeat=settings.repeat,
            min_repeat_ms=settings.min_repeat_ms,
        )

    @classmethod
    def on_random_inputs(
        cls, mod: Any, target: Any, settings: EvaluatorSettings | None = None
    ) -> ModuleTimer:
        """A timer with seeded random arguments shaped like ``mod``'s ``main``."""
        return cls(mod, target, settings or EvaluatorSettings(), _random_arrays(arg_shapes(mod)))

    def seconds(self) -> float:
        """Seconds per run (mean over the evaluator's repeats)."""
        return float(np.mean(self._evaluator(*self.args).results))


def time_module(mod: Any, target: Any, settings: EvaluatorSettings | None = None) -> float:
    """Seconds per run of any single-``main`` module (e.g. a scheduled workload) on random inputs.

    Parameters
    ----------
    mod : tvm.IRModule
        The module; its ``main`` PrimFunc's buffers give the argument shapes.
    target : tvm.target.Target
        Target to build for.
    settings : EvaluatorSettings | None
        Timing settings; MetaSchedule's LocalRunner defaults when None.
    """
    return ModuleTimer.on_random_inputs(mod, target, settings).seconds()


def time_unscheduled(
    workload: Workload,
    target: Any,
    settings: EvaluatorSettings,
    check: list[np.ndarray] | None = None,
) -> tuple[float, np.ndarray | None]:
    """Seconds per run of the workload as written (no schedule), built for ``target``.

    With ``check`` (values for the inputs, the last argument being the output), also returns
    the output the program computes from them.
    """
    arrays = _random_arrays(arg_shapes(workload.mod))
    if check is not None:
        arrays[: len(check)] = check
    timer = ModuleTimer(workload.mod, target, settings, arrays)
    seconds = timer.seconds()
    return seconds, (timer.args[-1].numpy() if check is not None else None)


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
    a, b = _random_arrays(shapes[:2])
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
