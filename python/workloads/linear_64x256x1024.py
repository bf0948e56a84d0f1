# from tvm.script import ir as I
# from tvm.script import tirx as T
# A linear layer y = x @ w + b at batch*sequence 64, 256 -> 1024 (a transformer's projection):
# its 1024 KiB weight is larger than the L2 of a core of the machines we measure on.

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(x: T.Buffer((64, 256), "float32"), w: T.Buffer((256, 1024), "float32"), b: T.Buffer((1024,), "float32"), y: T.Buffer((64, 1024), "float32")):
        T.func_attr({"tirx.noalias": True})
        acc = T.sblock_alloc_buffer((64, 1024))
        for i, j, k in T.grid(64, 1024, 256):
            with T.sblock("matmul"):
                vi, vj, vk = T.axis.remap("SSR", [i, j, k])
                with T.init():
                    acc[vi, vj] = T.float32(0.0)
                acc[vi, vj] = acc[vi, vj] + x[vi, vk] * w[vk, vj]
        for i, j in T.grid(64, 1024):
            with T.sblock("bias"):
                vi, vj = T.axis.remap("SS", [i, j])
                y[vi, vj] = acc[vi, vj] + b[vj]
