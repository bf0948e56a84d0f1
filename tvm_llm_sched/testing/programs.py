"""Tensor programs outside te_workload, built with TE, for generality checks.

Dtypes (fp16, int8 with int32 accumulation, f64), prime extents, transposes and layout changes, a
gather with data-dependent addressing, a two-output comm-reducer (argmax), layer norm, pooling, a
padded strided convolution, a softmax across rows and a function with two outputs:
shapes MetaSchedule and the expert policy were not developed on. ``python/bench_generality.py``
tunes all of them; the tests tune a few.
"""

from __future__ import annotations

from collections.abc import Callable

import tvm
from tvm import te

__all__ = ["PROGRAMS"]


def _module(*tensors: te.Tensor) -> tvm.IRModule:
    return tvm.IRModule({"main": te.create_prim_func(list(tensors))})


def matmul(m: int, n: int, k: int, dtype: str = "float32", acc: str = "float32") -> tvm.IRModule:
    """``C = A @ B`` with inputs of ``dtype`` accumulated in ``acc``."""
    a = te.placeholder((m, k), dtype, name="A")
    b = te.placeholder((k, n), dtype, name="B")
    r = te.reduce_axis((0, k), "k")
    c = te.compute(
        (m, n), lambda i, j: te.sum(a[i, r].astype(acc) * b[r, j].astype(acc), axis=r), name="C"
    )
    return _module(a, b, c)


def batch_matmul_nt(batch: int, m: int, n: int, k: int) -> tvm.IRModule:
    """``C[b] = A[b] @ B[b]^T`` (the second operand transposed, as attention's ``Q K^T``)."""
    a = te.placeholder((batch, m, k), name="A")
    b = te.placeholder((batch, n, k), name="B")
    r = te.reduce_axis((0, k), "k")
    c = te.compute((batch, m, n), lambda x, i, j: te.sum(a[x, i, r] * b[x, j, r], axis=r), name="C")
    return _module(a, b, c)


def bias_relu(m: int, n: int) -> tvm.IRModule:
    """``max(A + b, 0)`` with a broadcast bias."""
    a = te.placeholder((m, n), name="A")
    b = te.placeholder((n,), name="b")
    zero = tvm.tirx.const(0, "float32")
    c = te.compute((m, n), lambda i, j: te.max(a[i, j] + b[j], zero), name="C")
    return _module(a, b, c)


def transpose(m: int, n: int) -> tvm.IRModule:
    """``C = A^T``."""
    a = te.placeholder((m, n), name="A")
    return _module(a, te.compute((n, m), lambda i, j: a[j, i], name="C"))


def transpose_add(m: int, n: int) -> tvm.IRModule:
    """``C = A^T + B``."""
    a = te.placeholder((m, n), name="A")
    b = te.placeholder((n, m), name="B")
    return _module(a, b, te.compute((n, m), lambda i, j: a[j, i] + b[i, j], name="C"))


def nchw_to_nhwc(n: int, c: int, h: int, w: int) -> tvm.IRModule:
    """A layout change."""
    a = te.placeholder((n, c, h, w), name="A")
    y = te.compute((n, h, w, c), lambda i, y_, x, ch: a[i, ch, y_, x], name="Y")
    return _module(a, y)


def max_pool(n: int, c: int, h: int, w: int) -> tvm.IRModule:
    """3x3 max pooling, stride 2, no padding."""
    a = te.placeholder((n, c, h, w), name="A")
    rh, rw = te.reduce_axis((0, 3), "rh"), te.reduce_axis((0, 3), "rw")
    shape = (n, c, (h - 3) // 2 + 1, (w - 3) // 2 + 1)
    p = te.compute(
        shape,
        lambda i, ch, y, x: te.max(a[i, ch, y * 2 + rh, x * 2 + rw], axis=[rh, rw]),
        name="P",
    )
    return _module(a, p)


def row_mean(m: int, n: int) -> tvm.IRModule:
    """The mean of every row (a reduction, then a division)."""
    a = te.placeholder((m, n), name="A")
    r = te.reduce_axis((0, n), "k")
    s = te.compute((m,), lambda i: te.sum(a[i, r], axis=r), name="S")
    return _module(a, te.compute((m,), lambda i: s[i] / float(n), name="Y"))


def argmax(m: int, n: int) -> tvm.IRModule:
    """Index and value of every row's maximum (a two-output comm-reducer)."""
    a = te.placeholder((m, n), name="A")

    def combine(x, y):
        take_x = x[1] >= y[1]
        return tvm.tirx.Select(take_x, x[0], y[0]), tvm.tirx.Select(take_x, x[1], y[1])

    def identity(t0, t1):
        return tvm.tirx.const(-1, t0), te.min_value(t1)

    reducer = te.comm_reducer(combine, identity, name="argmax")
    r = te.reduce_axis((0, n), "k")
    index, value = te.compute((m,), lambda i: reducer((r, a[i, r]), axis=r), name="T")
    return _module(a, index, value)


def layer_norm(m: int, n: int) -> tvm.IRModule:
    """Layer norm over rows with a scale (two reductions and an elementwise pass)."""
    a = te.placeholder((m, n), name="A")
    g = te.placeholder((n,), name="g")
    r1, r2 = te.reduce_axis((0, n), "k"), te.reduce_axis((0, n), "k2")
    mean = te.compute((m,), lambda i: te.sum(a[i, r1] / float(n), axis=r1), name="mean")
    var = te.compute(
        (m,),
        lambda i: te.sum((a[i, r2] - mean[i]) * (a[i, r2] - mean[i]) / float(n), axis=r2),
        name="var",
    )
    y = te.compute(
        (m, n), lambda i, j: (a[i, j] - mean[i]) / te.sqrt(var[i] + 1e-5) * g[j], name="Y"
    )
    return _module(a, g, y)


def gather(vocab: int, dim: int, m: int) -> tvm.IRModule:
    """An embedding lookup with clamped int32 indices (data-dependent addressing)."""
    e = te.placeholder((vocab, dim), name="E")
    idx = te.placeholder((m,), "int32", name="I")
    y = te.compute((m, dim), lambda i, j: e[te.max(te.min(idx[i], vocab - 1), 0), j], name="Y")
    return _module(e, idx, y)


def matmul_gelu(m: int, n: int, k: int) -> tvm.IRModule:
    """A linear layer with bias and erf-GELU epilogue."""
    a = te.placeholder((m, k), name="A")
    w = te.placeholder((k, n), name="W")
    b = te.placeholder((n,), name="b")
    r = te.reduce_axis((0, k), "k")
    c = te.compute((m, n), lambda i, j: te.sum(a[i, r] * w[r, j], axis=r), name="C")
    y = te.compute(
        (m, n),
        lambda i, j: 0.5 * (c[i, j] + b[j]) * (1.0 + te.erf((c[i, j] + b[j]) * 0.7071067811865476)),
        name="Y",
    )
    return _module(a, w, b, y)


def dot(n: int) -> tvm.IRModule:
    """A dot product into a 0-d output."""
    a, b = te.placeholder((n,), name="A"), te.placeholder((n,), name="B")
    r = te.reduce_axis((0, n), "k")
    return _module(a, b, te.compute((), lambda: te.sum(a[r] * b[r], axis=r), name="C"))


def conv2d_stride2(n: int, c: int, hw: int, k: int, size: int) -> tvm.IRModule:
    """A padded NCHW convolution with stride 2 and an odd channel count."""
    a = te.placeholder((n, c, hw, hw), name="A")
    w = te.placeholder((k, c, size, size), name="W")
    pad = size // 2
    padded = te.compute(
        (n, c, hw + 2 * pad, hw + 2 * pad),
        lambda i, ch, y, x: tvm.tirx.if_then_else(
            tvm.tirx.all(y >= pad, y < hw + pad, x >= pad, x < hw + pad),
            a[i, ch, y - pad, x - pad],
            0.0,
        ),
        name="P",
    )
    out = (hw + 2 * pad - size) // 2 + 1
    rc, ry, rx = (te.reduce_axis((0, e), v) for e, v in ((c, "rc"), (size, "ry"), (size, "rx")))
    o = te.compute(
        (n, k, out, out),
        lambda i, f, y, x: te.sum(
            padded[i, rc, y * 2 + ry, x * 2 + rx] * w[f, rc, ry, rx], axis=[rc, ry, rx]
        ),
        name="O",
    )
    return _module(a, w, o)


def softmax_columns(m: int, n: int) -> tvm.IRModule:
    """Softmax over axis 0 (reductions across rows, strided)."""
    a = te.placeholder((m, n), name="A")
    r1, r2 = te.reduce_axis((0, m), "k"), te.reduce_axis((0, m), "k2")
    top = te.compute((n,), lambda j: te.max(a[r1, j], axis=r1), name="mx")
    e = te.compute((m, n), lambda i, j: te.exp(a[i, j] - top[j]), name="e")
    s = te.compute((n,), lambda j: te.sum(e[r2, j], axis=r2), name="s")
    return _module(a, te.compute((m, n), lambda i, j: e[i, j] / s[j], name="Y"))


def two_outputs(m: int, n: int) -> tvm.IRModule:
    """A function with two outputs, one computed from the other."""
    a = te.placeholder((m, n), name="A")
    x = te.compute((m, n), lambda i, j: a[i, j] * 2.0, name="X")
    return _module(a, x, te.compute((m, n), lambda i, j: x[i, j] + 1.0, name="Y"))


PROGRAMS: dict[str, Callable[[], tvm.IRModule]] = {
    "matmul_fp16": lambda: matmul(256, 256, 256, "float16", "float16"),
    "matmul_int8": lambda: matmul(128, 256, 128, "int8", "int32"),
    "matmul_prime": lambda: matmul(97, 131, 113),
    "matmul_f64": lambda: matmul(128, 128, 128, "float64", "float64"),
    "batch_matmul_nt": lambda: batch_matmul_nt(4, 64, 96, 80),
    "bias_relu": lambda: bias_relu(1024, 1000),
    "transpose": lambda: transpose(512, 768),
    "transpose_small": lambda: transpose(48, 64),
    "transpose_add": lambda: transpose_add(1024, 384),
    "nchw_to_nhwc": lambda: nchw_to_nhwc(1, 64, 56, 56),
    "max_pool": lambda: max_pool(1, 64, 56, 56),
    "row_mean": lambda: row_mean(333, 1777),
    "argmax": lambda: argmax(64, 1000),
    "layer_norm": lambda: layer_norm(128, 768),
    "layer_norm_prime": lambda: layer_norm(96, 1531),
    "gather": lambda: gather(1000, 256, 64),
    "matmul_gelu": lambda: matmul_gelu(64, 512, 256),
    "dot": lambda: dot(100000),
    "dot_prime": lambda: dot(100003),
    "conv2d_stride2": lambda: conv2d_stride2(1, 30, 28, 48, 3),
    "softmax_columns": lambda: softmax_columns(512, 256),
    "two_outputs": lambda: two_outputs(256, 256),
}
