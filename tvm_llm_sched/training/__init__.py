"""Fine-tune a small language model on a step-level dataset and serve it back to the search.

The loop: tuning work dirs -> ``tvm-llm-sched dataset build --profile compact`` -> :func:`finetune`
(supervised, loss on the assistant turn, LoRA or full, on the CPU) -> a GGUF file written by
:func:`export_gguf` -> ``serve-model --gguf MODEL_DIR`` / ``LLMGuidedSearch("local")`` with
``TVM_LLM_SCHED_GGUF=MODEL_DIR``. Needs the ``train`` extra (PyTorch, transformers, peft, trl,
gguf); nothing here is imported by the search itself.
"""

from .base_model import BaseModel, load_base_model
from .data import ChatDataset, load_chat_dataset
from .evaluate import ReplyQuality, reply_quality
from .finetune import FinetuneConfig, FinetuneResult, export_base_model, finetune
from .gguf_export import export_gguf

__all__ = [
    "BaseModel",
    "ChatDataset",
    "FinetuneConfig",
    "FinetuneResult",
    "ReplyQuality",
    "export_base_model",
    "export_gguf",
    "finetune",
    "load_base_model",
    "load_chat_dataset",
    "reply_quality",
]
