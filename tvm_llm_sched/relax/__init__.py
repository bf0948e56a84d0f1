"""Relax: existing compile scripts made LLM-guided by one line, and whole models tuned end to end.

::

    import tvm_llm_sched.relax as llm_relax

    with llm_relax.use_strategy(LLMGuidedSearch()):
        mod = relax.get_pipeline("static_shape_tuning", total_trials=512, target=target)(mod)
    ex = tvm.compile(mod, target)

Importing this package also registers the pipeline ``"llm_static_shape_tuning"`` (every argument
defaulted) with ``relax.get_pipeline``.
"""

from __future__ import annotations

from .models import Model, example_inputs, from_exported, from_torch, load_model
from .pipeline import PIPELINE_NAME, llm_static_shape_tuning_pipeline, register
from .switch import (
    active_strategy,
    clear_process_strategy,
    set_process_strategy,
    use_strategy,
)
from .tune_model import ModelTuneResult, TaskResult, tune_model

register()

__all__ = [
    "PIPELINE_NAME",
    "Model",
    "ModelTuneResult",
    "TaskResult",
    "active_strategy",
    "clear_process_strategy",
    "example_inputs",
    "from_exported",
    "from_torch",
    "llm_static_shape_tuning_pipeline",
    "load_model",
    "set_process_strategy",
    "tune_model",
    "use_strategy",
]
