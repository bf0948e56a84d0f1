"""Write a trained ``transformers`` Llama-family model as a GGUF file llama.cpp serves.

No HF-to-GGUF converter ships in a wheel (llama.cpp's ``convert_hf_to_gguf.py`` is not in the
``gguf`` package), so this writes one with ``gguf.GGUFWriter``: the template GGUF's metadata
(architecture, hyperparameters, tokenizer, chat template) copied unchanged, the trained tensors
under llama.cpp's names (``gguf.get_tensor_name_map``), and the rotary Q/K row permutation
re-applied. ``transformers`` undoes that permutation when it loads a GGUF; a file written without
it loads and answers, but wrongly (the parity test of the training tests checks exactly this).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TrainingError

EXPORT_DTYPES = ("f16", "f32")
"""Weight precisions :func:`export_gguf` writes (norms and other 1-D tensors stay float32)."""

# GGUFWriter writes the architecture itself; the file type is rewritten for the new precision.
_SKIPPED_KEYS = ("general.architecture", "general.file_type")


def llama_permute(weights: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's ``permute`` of a Q or K projection (rows regrouped per rotary pair), the
    inverse of ``transformers``' ``reverse_permute_weights``."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = weights.shape[0]
    return (
        weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _copy_metadata(reader: Any, writer: Any) -> None:
    import gguf

    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name in _SKIPPED_KEYS:
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub_type)


def export_gguf(model: Any, template: str | Path, out: str | Path, *, dtype: str = "f16") -> Path:
    """Write ``model`` (a ``transformers`` Llama-family causal LM, LoRA already merged) to ``out``.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        The trained model.
    template : str | Path
        The GGUF file the model was loaded from: its metadata and tokenizer are copied.
    out : str | Path
        The GGUF file to write.
    dtype : str
        ``"f16"`` (half the size) or ``"f32"`` (bit-exact weights) for the 2-D weights.

    Raises
    ------
    TrainingError
        Not a Llama-family model, a tensor llama.cpp has no name for, or a shape the template
        does not declare.
    """
    import gguf

    if dtype not in EXPORT_DTYPES:
        raise TrainingError(f"dtype must be one of {EXPORT_DTYPES}, got {dtype!r}")
    config = model.config
    if config.model_type != "llama":
        raise TrainingError(
            f"GGUF export supports Llama-family models (SmolLM2 is one), not {config.model_type!r}"
        )
    reader = gguf.GGUFReader(str(template))
    expected = {t.name: tuple(int(d) for d in reversed(t.shape)) for t in reader.tensors}
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    n_head, n_head_kv = config.num_attention_heads, config.num_key_value_heads

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")  # renamed when complete: no torn model file
    writer = gguf.GGUFWriter(str(partial), "llama")
    _copy_metadata(reader, writer)
    file_type = gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32
    writer.add_file_type(int(file_type))
    tied = bool(getattr(config, "tie_word_embeddings", False))
    written = set()
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd for a tied output head
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise TrainingError(f"llama.cpp has no tensor name for {hf_name!r}")
        data = tensor.detach().to("cpu").float().numpy()
        if name.endswith("attn_q.weight"):
            data = llama_permute(data, n_head, n_head)
        elif name.endswith("attn_k.weight"):
            data = llama_permute(data, n_head, n_head_kv)
        if name in expected and expected[name] != data.shape:
            raise TrainingError(f"{hf_name} has shape {data.shape}, the template {expected[name]}")
        if dtype == "f16" and data.ndim > 1:
            data = data.astype(np.float16)
        writer.add_tensor(name, np.ascontiguousarray(data))
        written.add(name)
    missing = sorted(set(expected) - written)
    if missing:
        writer.close()
        partial.unlink(missing_ok=True)
        raise TrainingError(f"the model has no weights for the template's {missing[:5]}")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out)
    return out
