"""The builders a benchmark can use: MetaSchedule's stock LocalBuilder, or a lean variant.

``LocalBuilder`` starts fresh worker processes on every ``build`` call (one per iteration), and
its ``default_build`` imports ``tvm.s_tir.tensor_intrin`` in each of them: about 25 s of CPU in
TVM 0.27 (mostly the CUDA intrinsics), before the first candidate compiles. On a loaded 2-core
machine that alone exceeds the builder timeout and fails candidates that would have built.
The ``lean`` builder is the same LocalBuilder with the same compilation steps, minus that import:
a candidate arrives scheduled (tensorization already applied in the tuning process), so building
it never looks an intrinsic up by name. Both produce the same artifact; only build time differs.
"""

from __future__ import annotations

from typing import Any

from ..tvm_compat import local_builder

BUILDERS = ("lean", "local")


def make_builder(kind: str, *, max_workers: int, timeout_s: float) -> Any:
    """A ``LocalBuilder``: ``"local"`` as MetaSchedule configures it, ``"lean"`` with
    :func:`tvm_llm_sched.tvm_compat.lean_build`.

    Raises
    ------
    ValueError
        For another kind.
    """
    from tvm.s_tir.meta_schedule.builder import LocalBuilder

    if kind == "local":
        return LocalBuilder(max_workers=max_workers, timeout_sec=timeout_s)
    if kind == "lean":
        return local_builder(max_workers=max_workers, timeout_sec=timeout_s)
    raise ValueError(f"unknown builder {kind!r}: use one of {', '.join(BUILDERS)}")
