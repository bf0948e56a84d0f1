"""Timing a built program as MetaSchedule's runner does: the unscheduled reference of a tuning run.

:class:`EvaluatorSettings` mirrors the LocalRunner's evaluator; :class:`ModuleTimer` builds a module
once and times it on fixed arguments; :func:`retime_interleaved` times several programs round-robin
(the side-by-side comparison of programs); :func:`time_unscheduled` times a workload as written
(the speedup reference of ``tune_workload`` and of the benchmarks).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


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


def random_arrays(shapes: list[tuple[tuple[int, ...], str]]) -> list[np.ndarray]:
    """Arrays of the given shapes and dtypes, uniform in [-1, 1) from a fixed seed."""
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
        return cls(mod, target, settings or EvaluatorSettings(), random_arrays(arg_shapes(mod)))

    def seconds(self) -> float:
        """Seconds per run (mean over the evaluator's repeats)."""
        return float(np.mean(self._evaluator(*self.args).results))


def retime_interleaved(
    mods: dict[str, Any], target: Any, rounds: int, settings: EvaluatorSettings | None = None
) -> dict[str, list[float]]:
    """Time every module once per round, round after round; microseconds per module.

    Interleaving spreads slow phases of a shared machine over all modules instead of
    penalising whichever was timed during them. Each module is built once.
    """
    timers = {
        name: ModuleTimer.on_random_inputs(mod, target, settings) for name, mod in mods.items()
    }
    times: dict[str, list[float]] = {name: [] for name in mods}
    for _ in range(rounds):
        for name, timer in timers.items():
            times[name].append(timer.seconds() * 1e6)
    return times


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
    workload: Any,
    target: Any,
    settings: EvaluatorSettings,
    check: list[np.ndarray] | None = None,
) -> tuple[float, np.ndarray | None]:
    """Seconds per run of the workload as written (no schedule), built for ``target``.

    With ``check`` (values for the inputs, the last argument being the output), also returns
    the output the program computes from them.
    """
    arrays = random_arrays(arg_shapes(workload.mod))
    if check is not None:
        arrays[: len(check)] = check
    timer = ModuleTimer(workload.mod, target, settings, arrays)
    seconds = timer.seconds()
    return seconds, (timer.args[-1].numpy() if check is not None else None)
