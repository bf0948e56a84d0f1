"""tvm-llm-sched: LLM- and expert-policy-guided search for Apache TVM MetaSchedule.

The names a user types come from here::

    from tvm_llm_sched import LLMGuidedSearch, LLMMutatorProbability, SearchConfig

They are loaded on first use, so ``import tvm_llm_sched`` itself stays cheap (TVM is imported by the
search, not by the package).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it (loaded lazily, PEP 562).
_EXPORTS = {
    "LLMGuidedSearch": "tvm_llm_sched.search",
    "LLMMutatorProbability": "tvm_llm_sched.search",
    "SearchConfig": "tvm_llm_sched.search",
    "Proposer": "tvm_llm_sched.proposers",
    "ExpertPolicy": "tvm_llm_sched.proposers",
    "create_proposer": "tvm_llm_sched.proposers",
    "tune_workload": "tvm_llm_sched.tune",
    "load_workload": "tvm_llm_sched.workloads",
    "host_target": "tvm_llm_sched.hardware",
    "use_target_cores": "tvm_llm_sched.hardware",
    "local_builder": "tvm_llm_sched.tvm_compat",
    "local_runner": "tvm_llm_sched.tvm_compat",
    "native_backend": "tvm_llm_sched.native",
    "errors": "tvm_llm_sched.errors",
}
_RENAMED = {"create_proposer": "create", "errors": None}

__all__ = [
    "ExpertPolicy",
    "LLMGuidedSearch",
    "LLMMutatorProbability",
    "Proposer",
    "SearchConfig",
    "__version__",
    "create_proposer",
    "errors",
    "host_target",
    "load_workload",
    "local_builder",
    "local_runner",
    "native_backend",
    "tune_workload",
    "use_target_cores",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads these
    from . import errors
    from .hardware import host_target, use_target_cores
    from .native import native_backend
    from .proposers import ExpertPolicy, Proposer
    from .proposers import create as create_proposer
    from .search import LLMGuidedSearch, LLMMutatorProbability, SearchConfig
    from .tune import tune_workload
    from .tvm_compat import local_builder, local_runner
    from .workloads import load_workload


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tvm_llm_sched' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    attr = _RENAMED.get(name, name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
