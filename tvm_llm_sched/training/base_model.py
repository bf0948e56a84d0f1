"""The model a fine-tune starts from: a GGUF file (the bundled SmolLM2-135M-Instruct by default),
dequantized by ``transformers`` into trainable float32 weights."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any

from ..errors import DependencyError, TrainingError
from ..serving.local_model import model_file

TRAIN_HINT = "pip install 'tvm-llm-sched[train]'"
"""The command that installs what fine-tuning needs."""


def require_training() -> None:
    """Raise a :class:`DependencyError` naming the install command unless the ``train`` extra's
    packages import."""
    missing = []
    for name in ("torch", "transformers", "peft", "trl", "gguf", "datasets"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise DependencyError(f"fine-tuning needs {', '.join(missing)}: {TRAIN_HINT}")


def resolve_gguf(base: str | Path) -> Path:
    """The GGUF file behind ``base``: ``"bundled"``, a GGUF file, or a fine-tuned model directory.

    Raises
    ------
    TrainingError
        Nothing loadable at ``base``.
    """
    if str(base) == "bundled":
        from ..serving.local_model import LocalModelError, bundled_gguf

        try:
            return bundled_gguf()
        except LocalModelError as exc:
            raise TrainingError(str(exc)) from None
    path = model_file(base)
    if not path.is_file():
        raise TrainingError(f"no base model at {base}: pass 'bundled', a GGUF file or a model dir")
    return path


@dataclasses.dataclass
class BaseModel:
    """A loaded base model.

    Attributes
    ----------
    model : transformers.PreTrainedModel
        Float32 weights, ready to train.
    tokenizer : transformers.PreTrainedTokenizerBase
        Its tokenizer (with the chat template the server applies).
    gguf : Path
        The GGUF file it came from: the metadata template of :func:`export_gguf`.
    """

    model: Any
    tokenizer: Any
    gguf: Path

    @property
    def parameters(self) -> int:
        """Number of weights."""
        return sum(p.numel() for p in self.model.parameters())


def load_base_model(base: str | Path = "bundled") -> BaseModel:
    """Load ``base`` (see :func:`resolve_gguf`) for training.

    Raises
    ------
    DependencyError
        The ``train`` extra is missing.
    TrainingError
        The file does not load as a causal language model.
    """
    require_training()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    path = resolve_gguf(base)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        # dequantize=True: trainable float32 weights whatever GGUF kernels are installed
        model = AutoModelForCausalLM.from_pretrained(
            path.parent,
            gguf_file=path.name,
            dtype=torch.float32,
            quantization_config=GgufConfig(dequantize=True),
        )
    except Exception as exc:  # transformers raises many kinds for an unreadable file
        raise TrainingError(f"cannot load {path} as a language model: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    _forget_gguf_quantization(model)
    return BaseModel(model=model, tokenizer=tokenizer, gguf=path)


def _forget_gguf_quantization(model: Any) -> None:
    """Mark a GGUF-loaded model as the plain float32 model it is.

    ``transformers`` dequantizes a GGUF file on load but keeps its GGUF "quantizer" on the model,
    and the trainer refuses to train a model quantized with a method that cannot train; saved
    weights would also carry the GGUF quantization config into ``config.json``.
    """
    model.hf_quantizer = None
    if getattr(model, "is_quantized", False):
        model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
