"""tvm-llm-sched: LLM- and expert-policy-guided search for Apache TVM MetaSchedule."""

from __future__ import annotations

from . import errors
from .native import native_backend

__version__ = "0.1.0"

__all__ = ["__version__", "errors", "native_backend"]
