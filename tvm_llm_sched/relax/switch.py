"""Switch unmodified tuning scripts to another search strategy: one ``with`` line, or process-wide.

Every MetaSchedule entry point a Relax script reaches (``relax.transform.MetaScheduleTuneIRMod``
and ``MetaScheduleTuneTIR``, whose C++ calls the global functions ``tvm.s_tir.meta_schedule.
tune_relax`` / ``tune_tir``; the ``static_shape_tuning`` pipeline, which runs the first; and
``ms.relax_integration.tune_relax`` / ``ms.tune_tir`` called directly) leaves the strategy at its
default, the *name* ``"evolutionary"``, and ``TuneContext`` turns that name into an object through
``SearchStrategy.create``. Hooking that one factory switches them all, whatever the C++ side
cached, and each task gets its own clone of the template (TVM's template-and-clone pattern). The
same entry points open their work dir through ``Database.create("json", work_dir=...)`` and, after
tuning, ``MetaScheduleApplyDatabase`` reopens it in C++; both are preceded by
:func:`~tvm_llm_sched.database.repair_work_dir`, so a torn last line cannot make TVM refuse the
whole database. The builder is the one the drop-in fix already gives MetaSchedule's default
``"local"`` builder (:func:`~tvm_llm_sched.tvm_compat.install_builder_fix`).

What is switched: the ``"evolutionary"`` kind with no arguments (TVM's default everywhere). A
strategy object, another kind (``"replay-trace"``), or ``"evolutionary"`` with its own arguments
is the script's explicit choice and is kept. The switch is per thread (a ``ContextVar``) on top of
an optional process-wide default; TVM's factories are hooked while any switch is on and restored
when the last one ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator
from typing import Any

from ..database.repair import repair_work_dir

logger = logging.getLogger("tvm_llm_sched.relax")

REPLACED_KIND = "evolutionary"
"""The strategy name TVM's tuning entry points default to; the only one switched."""

_ACTIVE: contextvars.ContextVar[Any | None] = contextvars.ContextVar(
    "tvm_llm_sched_strategy", default=None
)
_lock = threading.Lock()
_process_strategy: Any | None = None
_users = 0
_originals: dict[str, Any] = {}


def active_strategy() -> Any | None:
    """The strategy template that replaces ``"evolutionary"`` here and now, or None."""
    return _ACTIVE.get() or _process_strategy


def _create_strategy(kind: Any = REPLACED_KIND, *args: Any, **kwargs: Any) -> Any:
    template = active_strategy()
    if template is not None and kind == REPLACED_KIND and not args and not kwargs:
        # A Python strategy is cloned in Python: TVM's FFI clone returns a bare PySearchStrategy.
        python_template = getattr(template, "_inst", None)
        return (python_template or template).clone()
    return _originals["strategy"](kind, *args, **kwargs)


def _create_database(kind: Any = "json", *args: Any, **kwargs: Any) -> Any:
    work_dir = kwargs.get("work_dir")
    if active_strategy() is not None and kind == "json" and work_dir:
        repair_work_dir(work_dir)
    return _originals["database"](kind, *args, **kwargs)


def _apply_database(work_dir: str | None = None, enable_warning: bool = False) -> Any:
    import tvm

    original = _originals["apply"](work_dir, enable_warning)
    if active_strategy() is None or not work_dir:
        return original

    @tvm.transform.module_pass(opt_level=0, name="RepairWorkDir")
    def repair(mod: Any, _ctx: Any) -> Any:
        repair_work_dir(work_dir)  # when the pass runs, right before C++ opens the files
        return mod

    return tvm.transform.Sequential([repair, original], name="MetaScheduleApplyDatabase")


def _hook() -> None:
    """Install the hooks (called under the lock by the first user)."""
    import tvm.relax.transform as relax_transform
    import tvm.relax.transform.transform as relax_transform_impl
    from tvm.s_tir.meta_schedule.database import Database
    from tvm.s_tir.meta_schedule.search_strategy import SearchStrategy

    from ..tvm_compat import install_builder_fix, install_runner_fix

    install_builder_fix()
    install_runner_fix()
    _originals["strategy"] = SearchStrategy.create
    _originals["database"] = Database.create
    _originals["apply"] = relax_transform_impl.MetaScheduleApplyDatabase
    SearchStrategy.create = staticmethod(_create_strategy)
    Database.create = staticmethod(_create_database)
    relax_transform.MetaScheduleApplyDatabase = _apply_database
    relax_transform_impl.MetaScheduleApplyDatabase = _apply_database


def _unhook() -> None:
    import tvm.relax.transform as relax_transform
    import tvm.relax.transform.transform as relax_transform_impl
    from tvm.s_tir.meta_schedule.database import Database
    from tvm.s_tir.meta_schedule.search_strategy import SearchStrategy

    SearchStrategy.create = staticmethod(_originals.pop("strategy"))
    Database.create = staticmethod(_originals.pop("database"))
    apply = _originals.pop("apply")
    relax_transform.MetaScheduleApplyDatabase = apply
    relax_transform_impl.MetaScheduleApplyDatabase = apply


def _acquire() -> None:
    global _users
    with _lock:
        if _users == 0:
            _hook()
        _users += 1


def _release() -> None:
    global _users
    with _lock:
        _users -= 1
        if _users == 0:
            _unhook()


def _template(strategy: Any | None) -> Any:
    from tvm.s_tir.meta_schedule.search_strategy import SearchStrategy

    if strategy is None:
        from ..search import LLMGuidedSearch

        return LLMGuidedSearch()
    if not isinstance(strategy, SearchStrategy):
        raise TypeError(
            "use_strategy needs a MetaSchedule SearchStrategy object, got "
            f"{type(strategy).__name__}"
        )
    return strategy


@contextlib.contextmanager
def use_strategy(strategy: Any | None = None) -> Iterator[Any]:
    """Tune with ``strategy`` wherever the code inside the block leaves MetaSchedule's default.

    Parameters
    ----------
    strategy : SearchStrategy | None
        The template each task's clone is made from; ``None`` makes an
        :class:`~tvm_llm_sched.search.LLMGuidedSearch` (the embedded expert policy, or the
        configured endpoint).

    Yields
    ------
    SearchStrategy
        The template.

    Examples
    --------
    >>> with use_strategy(LLMGuidedSearch()):                           # doctest: +SKIP
    ...     mod = relax.get_pipeline("static_shape_tuning", total_trials=256, target=target)(mod)
    """
    template = _template(strategy)
    _acquire()
    token = _ACTIVE.set(template)
    try:
        yield template
    finally:
        _ACTIVE.reset(token)
        _release()


def set_process_strategy(strategy: Any | None = None) -> Any:
    """Switch the whole process (every thread) until :func:`clear_process_strategy`.

    For a script you cannot wrap in :func:`use_strategy`: call this first (or run the script with
    ``tvm-llm-sched run-script``). A ``use_strategy`` block still takes precedence inside it.

    Returns
    -------
    SearchStrategy
        The template in effect (``strategy``, or a new ``LLMGuidedSearch``).
    """
    global _process_strategy
    template = _template(strategy)
    with _lock:
        previous, _process_strategy = _process_strategy, template
    if previous is None:
        _acquire()
    return template


def clear_process_strategy() -> None:
    """Undo :func:`set_process_strategy` (no-op when it is not set)."""
    global _process_strategy
    with _lock:
        previous, _process_strategy = _process_strategy, None
    if previous is not None:
        _release()
