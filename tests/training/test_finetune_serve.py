"""Fine-tune, export, serve: the served model answers as the trained model does.

Constrained decoding names a legal step whatever the weights, so a broken export (a missing Q/K
permutation, a wrong tensor name) would still "work" in the search. The check here is the served
model's unconstrained greedy reply against the trained model's own, in memory.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tvm_llm_sched.errors import TrainingError
from tvm_llm_sched.training import FinetuneConfig, finetune
from tvm_llm_sched.training.gguf_export import llama_permute

N_TOKENS = 12

PROMPT = [
    {"role": "system", "content": "You tune a tensor program, one step at a time."},
    {
        "role": "user",
        "content": "Program: loops i:512, j:128. Menu: 1. parallel(l0) 2. vectorize(l1)",
    },
]


def test_the_export_permutation_inverts_the_one_transformers_undoes_on_load():
    # transformers' LlamaTensorProcessor._reverse_permute_weights, written out
    def reverse(weights, n_head, n_kv):
        n = n_kv if n_kv != n_head else n_head
        dim = weights.shape[0] // n // 2
        return weights.reshape(n, dim, 2, *weights.shape[1:]).swapaxes(2, 1).reshape(weights.shape)

    q = np.arange(576 * 8, dtype=np.float32).reshape(576, 8)
    k = np.arange(192 * 8, dtype=np.float32).reshape(192, 8)
    assert np.array_equal(reverse(llama_permute(q, 9, 9), 9, 9), q)
    assert np.array_equal(reverse(llama_permute(k, 9, 3), 9, 3), k)
    assert not np.array_equal(llama_permute(q, 9, 9), q)


def _greedy(model, tokenizer, messages, n):
    import torch

    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=n, do_sample=False)
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


@pytest.mark.tuning
def test_a_fine_tuned_model_is_served_as_it_was_trained(
    train_extra, local_model, tmp_path, make_dataset
):
    import httpx
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tvm_llm_sched.serving.local_model import LocalModelServer, LocalModelSettings

    dataset = make_dataset(tmp_path / "data", train=4, validation=1)
    config = FinetuneConfig(
        max_steps=1, batch_size=2, max_length=256, dtype="f32", max_validation=1, learning_rate=1e-3
    )
    result = finetune(dataset, tmp_path / "smollm2-ft", config)
    assert result.steps == 1 and result.train_samples == 4 and result.gguf.is_file()
    assert result.validation_loss_before is not None and result.validation_loss_after is not None
    assert result.validation_loss_after != result.validation_loss_before  # the step changed it

    # The same command again returns the finished fine-tune; other settings are refused.
    assert finetune(dataset, tmp_path / "smollm2-ft", config) == result
    with pytest.raises(TrainingError, match="other settings"):
        finetune(dataset, tmp_path / "smollm2-ft", dataclasses.replace(config, lora_rank=4))

    trained = AutoModelForCausalLM.from_pretrained(result.model_dir / "hf", dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(result.model_dir / "hf")
    expected = _greedy(trained, tokenizer, PROMPT, N_TOKENS)
    assert expected.strip()

    settings = LocalModelSettings(gguf=str(result.model_dir), threads=2)
    with LocalModelServer(settings) as server:
        assert server.model == "smollm2-ft"  # a model dir is served under its name
        reply = httpx.post(
            f"{server.base_url}/chat/completions",
            json={
                "model": server.model,
                "messages": PROMPT,
                "max_tokens": N_TOKENS,
                "temperature": 0.0,
            },
            timeout=120,
        ).json()
    served = reply["choices"][0]["message"]["content"]
    assert served == expected, (served, expected)


def test_a_base_model_that_does_not_load_is_a_clear_error_before_training(
    train_extra, tmp_path, make_dataset
):
    dataset = make_dataset(tmp_path / "data")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF\x03\x00\x00\x00not a model")
    with pytest.raises(TrainingError, match="cannot load"):
        finetune(dataset, tmp_path / "model", FinetuneConfig(max_steps=1), base=broken)
    with pytest.raises(TrainingError, match="no base model"):
        finetune(dataset, tmp_path / "model", FinetuneConfig(max_steps=1), base=tmp_path / "nope")
    assert not (tmp_path / "model").exists()  # nothing written before the checks passed
