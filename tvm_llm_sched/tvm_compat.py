"""Workarounds for apache-tvm 0.27 behaviour that costs tuning time, applied in one place."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger("tvm_llm_sched")

_tensor_intrin_loaded = False
_builder_fix_installed = False
_runner_fix_installed = False

BUILDER_FIX_ENV = "TVM_LLM_SCHED_BUILDER_FIX"
"""Set to ``0`` to keep MetaSchedule's default ``LocalBuilder`` as it is (see
:func:`install_builder_fix`)."""
WORKER_REPORT_ENV = "TVM_LLM_SCHED_WORKER_REPORT"
"""When set to a file path, :func:`fast_worker_imports` appends ``<pid> <seconds>`` to it: how long
a build worker's ``import tvm.s_tir.tensor_intrin`` took (a check that workers got the fix)."""


def _shallow_stack(context: int = 1) -> list[inspect.FrameInfo]:
    """``inspect.stack`` that reads source context only for the three innermost frames.

    TVMScript's ``T.prim_func`` calls ``inspect.stack()`` for every function it parses and only
    looks at ``code_context`` of ``frames[2]``; the full version resolves the source of every
    frame (scanning ``sys.modules``), which makes ``import tvm.s_tir.tensor_intrin`` take 30-40 s.
    """
    frame = sys._getframe(1)
    frames = []
    while frame is not None:
        if len(frames) < 3:
            info = inspect.getframeinfo(frame, context)
            frames.append(inspect.FrameInfo(frame, *info, positions=info.positions))
        else:  # even context=0 resolves the source file (a sys.modules scan): skip it
            code = frame.f_code
            frames.append(
                inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None)
            )
        frame = frame.f_back
    return frames


@contextlib.contextmanager
def _patched_stack() -> Iterator[None]:
    original = inspect.stack
    inspect.stack = _shallow_stack
    try:
        yield
    finally:
        inspect.stack = original


def require_xgboost() -> None:
    """Fail early, with the fix, when no XGBoost is installed.

    MetaSchedule's cost model and the search's ranker need the ``xgboost`` module, but the package
    names no XGBoost distribution (``xgboost`` and ``xgboost-cpu`` install the same module, and
    naming one would let pip overwrite a build the user has). Without this check a run measures
    its first batch and then dies inside TVM with ``No module named 'xgboost'``.

    Raises
    ------
    DependencyError
        If ``import xgboost`` would fail.
    """
    import importlib.util

    from .errors import DependencyError

    if importlib.util.find_spec("xgboost") is None:
        raise DependencyError(
            "tuning needs XGBoost (MetaSchedule's cost model): pip install 'tvm-llm-sched[cpu]' "
            "(xgboost-cpu), or install your own xgboost"
        )


def preload_tensor_intrin() -> None:
    """Import ``tvm.s_tir.tensor_intrin`` quickly (MetaSchedule's TuneContext imports it).

    Call before the first ``ms.TuneContext`` / ``ms.tune_tir`` of a process; later calls are free.
    """
    global _tensor_intrin_loaded
    if _tensor_intrin_loaded or "tvm.s_tir.tensor_intrin" in sys.modules:
        _tensor_intrin_loaded = True
        return
    with _patched_stack():
        import tvm.s_tir.tensor_intrin  # noqa: F401
    _tensor_intrin_loaded = True


def fast_worker_imports() -> None:
    """``LocalBuilder`` worker initializer: import ``tvm.s_tir.tensor_intrin`` the fast way.

    Every build worker imports it for its first build (``default_build``), which takes 20-40 s
    on a busy 2-core machine, around the builder's 30 s timeout; with this initializer the import
    takes a few seconds and the build finds it done.
    """
    start = time.perf_counter()
    # Not preload_tensor_intrin(): this function reaches the worker pickled by value, with a
    # snapshot of this module's globals, whose "already loaded" flag is the parent's.
    if "tvm.s_tir.tensor_intrin" not in sys.modules:
        with _patched_stack():
            import tvm.s_tir.tensor_intrin  # noqa: F401
    report = os.environ.get(WORKER_REPORT_ENV)
    if report:
        with open(report, "a") as out:
            out.write(f"{os.getpid()} {time.perf_counter() - start:.3f}\n")


def builder_fix_disabled() -> bool:
    """Whether the user turned :func:`install_builder_fix` off (``TVM_LLM_SCHED_BUILDER_FIX=0``)."""
    return os.environ.get(BUILDER_FIX_ENV, "").strip() == "0"


def install_builder_fix() -> bool:
    """Give the workers of MetaSchedule's default builder the fast import; once per process.

    ``ms.tune_tir(..., builder="local")`` (its default) and the Relax tuning passes make their
    builder with ``Builder.create("local", ...)``. After this call, a builder made that way
    without an ``initializer`` gets :func:`fast_worker_imports`; everything else about it is
    MetaSchedule's. A builder object the user passes is never touched, nor one created with an
    initializer of its own. ``LLMGuidedSearch()`` calls this; ``TVM_LLM_SCHED_BUILDER_FIX=0``
    opts out.

    Returns
    -------
    bool
        Whether the fix is installed.
    """
    global _builder_fix_installed
    if _builder_fix_installed:
        return True
    if builder_fix_disabled():
        return False
    from tvm.s_tir.meta_schedule.builder import Builder

    _default_for_local(Builder, "initializer", fast_worker_imports)
    _builder_fix_installed = True
    logger.info(
        "MetaSchedule's default LocalBuilder now imports tvm.s_tir.tensor_intrin fast in its "
        "workers (%s=0 turns this off)",
        BUILDER_FIX_ENV,
    )
    return True


def _default_for_local(cls: Any, argument: str, value: Any) -> None:
    """Make ``cls.create("local", ...)`` pass ``argument=value`` when the caller gave none.

    ``value`` must be a function of this module: it is shipped to popen workers by value, since
    they do not see this process's ``sys.path`` additions.
    """
    import cloudpickle

    original = cls.create

    def create(kind: str = "local", *args: Any, **kwargs: Any) -> Any:
        if kind == "local" and kwargs.get(argument) is None:
            cloudpickle.register_pickle_by_value(sys.modules[__name__])
            kwargs[argument] = value
        return original(kind, *args, **kwargs)

    create.__doc__ = original.__doc__
    cls.create = staticmethod(create)


_INTEGER_DTYPE = re.compile(r"u?int(\d+)")


def alloc_in_bounds_arguments(device: Any, args_info: Any, alloc_repeat: int) -> list[list[Any]]:
    """MetaSchedule's ``default_alloc_argument``, with wide integer tensors filled with zeros.

    TVM 0.27's measurement fill writes float bit patterns into int32/int64 tensors (values near
    1e9 / 4e18), so a task that indexes with an integer input (``take``, an embedding lookup,
    a gather) reads far out of bounds and kills the runner's worker: such a task never gets a
    measurement. Zero is a valid index on every non-empty axis; floats (and 8-bit integers, which
    the fill already keeps in 1..9) are filled as before. The signature is ``LocalRunner``'s
    ``f_alloc_argument``.
    """
    import numpy as np
    import tvm
    from tvm.s_tir.meta_schedule.runner.utils import alloc_argument_common

    random_fill = tvm.get_global_func("tvm.contrib.random.random_fill_for_measure")

    def fill(arg: Any) -> None:
        dtype = str(arg.dtype)
        wide_integer = _INTEGER_DTYPE.fullmatch(dtype)
        if wide_integer and int(wide_integer.group(1)) > 8:
            arg.copyfrom(np.zeros(tuple(arg.shape), dtype=dtype))
        else:
            random_fill(arg)

    return alloc_argument_common(fill, device, args_info, alloc_repeat)


def install_runner_fix() -> None:
    """Give MetaSchedule's default runner :func:`alloc_in_bounds_arguments`; once per process.

    ``ms.tune_tir`` (``runner="local"``, its default) and the Relax tuning passes make their runner
    with ``Runner.create("local", ...)``; after this call such a runner without an
    ``f_alloc_argument`` of its own fills wide integer inputs with zeros, so tasks that index with
    an input tensor are measured instead of crashing the runner. A runner object the user passes
    is never touched. ``LLMGuidedSearch()``, ``use_strategy`` and the benchmark harness call this,
    whatever strategy tunes: it changes what every strategy can measure, not how it searches.
    """
    global _runner_fix_installed
    if _runner_fix_installed:
        return
    from tvm.s_tir.meta_schedule.runner import Runner

    _default_for_local(Runner, "f_alloc_argument", alloc_in_bounds_arguments)
    _runner_fix_installed = True


def local_runner(**kwargs: Any) -> Any:
    """MetaSchedule's ``LocalRunner`` allocating with :func:`alloc_in_bounds_arguments`.

    Keyword arguments go to ``LocalRunner``.
    """
    import cloudpickle
    from tvm.s_tir.meta_schedule.runner import LocalRunner

    if "f_alloc_argument" in kwargs:
        raise ValueError("local_runner sets the allocation function itself")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return LocalRunner(f_alloc_argument=alloc_in_bounds_arguments, **kwargs)


def lean_build(mod: Any, target: Any, _params: Any) -> Any:
    """MetaSchedule's ``default_build`` without its ``import tvm.s_tir.tensor_intrin``.

    Candidates arrive scheduled (any tensorization was applied in the tuning process), so building
    one never looks an intrinsic up by name; the artifact is the same, only the import is gone.
    """
    from tvm.driver import build as tvm_build
    from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock

    mod = RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod)
    return tvm_build(mod, target=target)


def local_builder(**kwargs: Any):
    """MetaSchedule's ``LocalBuilder`` building with :func:`lean_build`.

    ``LocalBuilder`` starts new worker processes for every batch, and the stock build function
    imports ``tvm.s_tir.tensor_intrin`` in each (20-40 s on a busy 2-core machine), which also
    hits the builder's 30 s timeout and fails candidates that would have built. Keyword arguments
    go to ``LocalBuilder``.

    Examples
    --------
    >>> ms.tune_tir(mod, target, work_dir, 64, builder=local_builder())  # doctest: +SKIP
    """
    import cloudpickle
    from tvm.s_tir.meta_schedule.builder import LocalBuilder

    if "f_build" in kwargs:
        raise ValueError("local_builder sets the build function itself")
    # Ship the function by value: popen workers do not see this process's sys.path additions.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return LocalBuilder(f_build=lean_build, **kwargs)


_ROOT_ANNOTATION_KINDS = ("Annotate", "Unannotate")


def root_annotations_last(trace: Any) -> Any:
    """``trace`` with its annotations of the root block (and the samples only they use) moved last.

    In TVM 0.27, replaying a trace that splits an untouched loop *after* annotating the root block
    (NRM:1's plain design space plus a split) changes the database workload's module in place, and
    then no record of the work dir loads back ("old_outputs.size() == new_outputs.size()").
    MetaSchedule's own traces annotate the root after their loop transformations; steps appended
    to a design-space sample come after its root annotations. The annotations name no loops and
    the samples they use feed nothing else, so moving them last gives the same program.
    """
    import tvm

    insts = list(trace.insts)
    # Postprocessing instructions (from EnterPostproc on) stay last: replay may drop them.
    cut = next((n for n, i in enumerate(insts) if i.kind.name == "EnterPostproc"), len(insts))
    insts, postproc = insts[:cut], insts[cut:]
    roots = [
        out
        for inst in insts
        if inst.kind.name == "GetSBlock" and str(inst.attrs[0]) == "root"
        for out in inst.outputs
    ]

    def refers(value: Any, rv: Any) -> bool:  # inputs also hold literals (str, int, None)
        return hasattr(value, "same_as") and value.same_as(rv)

    def annotates_root(inst: Any) -> bool:
        return inst.kind.name in _ROOT_ANNOTATION_KINDS and any(
            refers(inst.inputs[0], root) for root in roots
        )

    def used_only_by_root_annotations(inst: Any) -> bool:
        uses = [i for i in insts if any(refers(x, out) for out in inst.outputs for x in i.inputs)]
        return bool(uses) and all(annotates_root(i) for i in uses)

    last = [
        i
        for i in insts
        if annotates_root(i)
        or (i.kind.name == "SampleCategorical" and used_only_by_root_annotations(i))
    ]
    tail = insts[len(insts) - len(last) :]
    if all(a.same_as(b) for a, b in zip(tail, last, strict=True)):
        return trace  # already in MetaSchedule's order (or nothing to move)
    first = [i for i in insts if not any(i.same_as(m) for m in last)]
    return tvm.s_tir.Trace(first + last + postproc, dict(trace.decisions))


def record_reloads(trace: Any, workload: Any, workload_json: Any = None) -> bool:
    """Whether a JSON database can load a tuning record of ``trace`` back, twice.

    In TVM 0.27, replaying some traces changes the database workload's module in place (see
    :func:`root_annotations_last`); the first load then succeeds and every later one fails.

    Parameters
    ----------
    trace : tvm.s_tir.Trace
        The record's trace.
    workload : tvm.s_tir.meta_schedule.database.Workload
        The workload it schedules. It is not modified: the loads use a copy.
    workload_json : Any
        ``workload.as_json()``, if the caller keeps it (it is recomputed otherwise).
    """
    from tvm.s_tir.meta_schedule.database import TuningRecord, Workload

    record = TuningRecord(trace, workload).as_json()
    fresh = Workload.from_json(workload.as_json() if workload_json is None else workload_json)
    try:
        for _ in range(2):
            TuningRecord.from_json(record, fresh)
    except Exception:  # TVM raises several error types from trace replay
        return False
    return True
