"""Example models to tune end to end: an MLP, an embedding lookup feeding an MLP, and a transformer
decoder block written with ``tvm.relax.frontend.nn`` (no extra dependency), and PyTorch's
``TransformerEncoderLayer`` and a small ResNet-style CNN imported through ``torch.export`` (the
``torch`` extra). Weights are random and seeded, bound into the module as constants, as an importer
leaves them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .models import Model, example_inputs, from_torch, require_torch


def _from_nn(module: Any, inputs: dict[str, tuple[tuple[int, ...], str]], name: str, seed: int):
    """Export an ``nn.Module``'s ``forward``, bind random weights, and name it ``main``."""
    import tvm
    from tvm import relax
    from tvm.relax.frontend import nn

    spec = {"forward": {k: nn.spec.Tensor(shape, dtype) for k, (shape, dtype) in inputs.items()}}
    mod, params = module.export_tvm(spec=spec)
    rng = np.random.default_rng(seed)
    weights = {}
    for param_name, param in params:
        shape = [int(d) for d in param.shape]
        scale = 1.0 / np.sqrt(shape[-1]) if len(shape) > 1 else 0.1
        weights[param_name] = tvm.runtime.tensor(
            (rng.standard_normal(shape) * scale).astype(param.dtype)
        )
    mod = relax.transform.BindParams("forward", weights)(mod)
    func = mod["forward"].with_attr("global_symbol", "main")
    mod = tvm.IRModule({"main": func})
    return Model(name=name, mod=mod, inputs=example_inputs(mod, seed=seed), source="relax")


def mlp(batch: int = 32, d_in: int = 256, hidden: int = 512, d_out: int = 256, seed: int = 0):
    """Two linear layers with a ReLU between them."""
    from tvm.relax.frontend import nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            self.fc1 = nn.Linear(d_in, hidden)
            self.fc2 = nn.Linear(hidden, d_out)

        def forward(self, x: nn.Tensor) -> nn.Tensor:
            return self.fc2(nn.op.relu(self.fc1(x)))

    return _from_nn(MLP(), {"x": ((batch, d_in), "float32")}, "mlp", seed)


def embedding_mlp(
    tokens: int = 64, vocab: int = 8192, d_model: int = 256, hidden: int = 512, seed: int = 0
) -> Model:
    """Token ids -> embedding rows (a ``take`` on an integer input) -> two linear layers."""
    from tvm.relax.frontend import nn

    class EmbeddingMLP(nn.Module):
        def __init__(self) -> None:
            self.embed = nn.Embedding(vocab, d_model)
            self.fc1 = nn.Linear(d_model, hidden)
            self.fc2 = nn.Linear(hidden, d_model)

        def forward(self, ids: nn.Tensor) -> nn.Tensor:
            return self.fc2(nn.op.relu(self.fc1(self.embed(ids))))

    return _from_nn(EmbeddingMLP(), {"ids": ((tokens,), "int64")}, "embedding_mlp", seed)


def decoder_block(
    seq: int = 64, d_model: int = 256, heads: int = 4, ffn: int = 512, seed: int = 0
) -> Model:
    """A pre-norm decoder block: RMSNorm, causal multi-head self-attention, RMSNorm, SiLU-gated
    MLP, residuals (batch 1)."""
    from tvm.relax.frontend import nn

    head_dim = d_model // heads
    mask = np.triu(np.full((seq, seq), -1e9, dtype="float32"), k=1)

    class DecoderBlock(nn.Module):
        def __init__(self) -> None:
            self.norm1 = nn.RMSNorm(d_model, axes=-1, bias=False)
            self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
            self.out = nn.Linear(d_model, d_model, bias=False)
            self.norm2 = nn.RMSNorm(d_model, axes=-1, bias=False)
            self.gate_up = nn.Linear(d_model, 2 * ffn, bias=False)
            self.down = nn.Linear(ffn, d_model, bias=False)

        def forward(self, x: nn.Tensor) -> nn.Tensor:
            op = nn.op
            qkv = op.reshape(self.qkv(self.norm1(x)), (seq, 3, heads, head_dim))
            q, k, v = op.split(op.permute_dims(qkv, (1, 2, 0, 3)), 3, axis=0)
            q, k, v = (op.reshape(t, (heads, seq, head_dim)) for t in (q, k, v))
            scores = op.matmul(q, op.permute_dims(k, (0, 2, 1))) * (1.0 / np.sqrt(head_dim))
            scores = scores + nn.Tensor.from_const(mask)
            attn = op.matmul(op.softmax(scores, axis=-1), v)
            attn = op.reshape(op.permute_dims(attn, (1, 0, 2)), (seq, d_model))
            x = x + self.out(attn)
            gate, up = op.split(self.gate_up(self.norm2(x)), 2, axis=-1)
            return x + self.down(op.silu(gate) * up)

    return _from_nn(DecoderBlock(), {"x": ((seq, d_model), "float32")}, "decoder_block", seed)


def torch_encoder_layer(d_model: int = 256, heads: int = 4, seq: int = 64, seed: int = 0) -> Model:
    """``torch.nn.TransformerEncoderLayer`` (feed-forward 4x ``d_model``, batch 1), exported."""
    torch = require_torch()
    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(
        d_model, heads, dim_feedforward=4 * d_model, dropout=0.0, batch_first=True
    )
    x = torch.randn(1, seq, d_model)
    return from_torch(layer, (x,), name=f"encoder_layer_{d_model}")


def torch_resnet_blocks(channels: int = 32, size: int = 32, blocks: int = 2, seed: int = 0):
    """A stem convolution and ``blocks`` ResNet basic blocks (conv-BN-ReLU-conv-BN, residual),
    then global pooling and a linear head; batch 1, BatchNorm in eval mode."""
    torch = require_torch()
    nn = torch.nn
    torch.manual_seed(seed)

    class BasicBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x: Any) -> Any:
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(x + self.bn2(self.conv2(y)))

    class SmallResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU())
            self.blocks = nn.Sequential(*[BasicBlock() for _ in range(blocks)])
            self.head = nn.Linear(channels, 10)

        def forward(self, x: Any) -> Any:
            y = self.blocks(self.stem(x))
            return self.head(y.mean(dim=(2, 3)))

    x = torch.randn(1, 3, size, size)
    return from_torch(SmallResNet(), (x,), name="resnet_blocks")
