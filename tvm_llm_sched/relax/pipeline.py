"""``relax.get_pipeline("llm_static_shape_tuning")``: TVM's static-shape tuning pipeline,
LLM-guided, with every argument defaulted (the host CPU, 64 trials per task)."""

from __future__ import annotations

from typing import Any

PIPELINE_NAME = "llm_static_shape_tuning"
DEFAULT_TRIALS_PER_TASK = 64


def prepare_for_tuning(mod: Any, target: Any, *, weight_prepack: bool = False) -> Any:
    """The passes TVM's ``static_shape_tuning`` pipeline runs before it tunes: ops decomposed
    and legalized to TIR, ready for task extraction (call under no target or ``target``).

    With ``weight_prepack`` (its ``cpu_weight_prepack``), every TIR function's constant and
    parameter inputs are marked layout-free, so a tuned schedule may store a weight in the tiled
    layout it reads (MetaSchedule's ``RewriteLayout``); :func:`finish_weight_prepack` then turns
    that rewrite into a transform of the weights themselves.
    """
    import tvm
    from tvm import relax
    from tvm.relax import transform

    with tvm.target.Target(target):
        return tvm.transform.Sequential(
            [
                transform.DecomposeOpsForInference(),
                transform.CanonicalizeBindings(),
                relax.pipeline.zero_pipeline(),
                *([transform.AttachAttrLayoutFreeBuffers()] if weight_prepack else []),
            ]
        )(mod)


def finish_weight_prepack(mod: Any) -> Any:
    """After the records are applied: split each layout rewrite out of its function and fold it
    into the weights (constants are rewritten at compile time, so the model's inputs stay the
    same; parameters of a ``num_input`` function move to its ``<name>_transform_params``)."""
    import tvm
    from tvm.relax import transform

    return tvm.transform.Sequential(
        [
            transform.SplitLayoutRewritePreproc(),
            transform.LiftTransformParams(),
            transform.FoldConstant(),
        ]
    )(mod)


def resolve_target(target: Any = None) -> Any:
    """``target`` as a ``Target``; default: the current target, else the host CPU (detected)."""
    import tvm

    if target is not None:
        return tvm.target.Target(target)
    current = tvm.target.Target.current(allow_none=True)
    if current is not None:
        return current
    from ..hardware import host_target

    return tvm.target.Target(host_target())


def llm_static_shape_tuning_pipeline(
    total_trials: int | None = None,
    target: Any = None,
    work_dir: str = "tuning_logs",
    cpu_weight_prepack: bool = False,
    max_trials_per_task: int = DEFAULT_TRIALS_PER_TASK,
    strategy: Any = None,
) -> Any:
    """TVM's ``static_shape_tuning_pipeline`` under :func:`~tvm_llm_sched.relax.use_strategy`.

    Parameters
    ----------
    total_trials : int | None
        Trials over all tasks; ``None``: ``max_trials_per_task`` for every task the module has
        (TVM's pipeline needs the total up front and under-tunes tasks when it is too small).
    target : Target | str | dict | None
        Default: the current target, else the host CPU.
    work_dir, cpu_weight_prepack, max_trials_per_task
        As for TVM's pipeline.
    strategy : SearchStrategy | None
        Default: a new :class:`~tvm_llm_sched.search.LLMGuidedSearch` when the pass runs.

    Returns
    -------
    tvm.transform.Pass
        A module pass: tune, then apply the database (the module comes back scheduled).
    """
    import tvm
    from tvm import relax

    from .switch import use_strategy

    @tvm.transform.module_pass(opt_level=0, name="LLMStaticShapeTuning")
    def _pipeline(mod: Any, _ctx: Any) -> Any:
        tuning_target = resolve_target(target)
        trials = total_trials
        if trials is None:
            from tvm.s_tir import meta_schedule as ms

            tasks = ms.relax_integration.extract_tasks(
                prepare_for_tuning(mod, tuning_target), tuning_target
            )
            trials = max_trials_per_task * max(len(tasks), 1)
        with use_strategy(strategy):
            return relax.pipeline.static_shape_tuning_pipeline(
                total_trials=trials,
                target=tuning_target,
                work_dir=work_dir,
                cpu_weight_prepack=cpu_weight_prepack,
                max_trials_per_task=max_trials_per_task,
            )(mod)

    return _pipeline


def register() -> None:
    """Add :func:`llm_static_shape_tuning_pipeline` to Relax's pipeline registry (idempotent)."""
    from tvm.relax import pipeline

    if PIPELINE_NAME not in pipeline.PIPELINE_MAP:
        pipeline.register_pipeline(PIPELINE_NAME)(llm_static_shape_tuning_pipeline)
