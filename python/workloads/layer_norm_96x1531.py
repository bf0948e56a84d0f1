# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

# Layer norm over 96 rows of 1531 fp32 (prime) with a scale: two row reductions (mean,
# variance) and an elementwise pass.

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(A: T.Buffer((96, 1531), "float32"), g: T.Buffer((1531,), "float32"), Y: T.Buffer((96, 1531), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        mean = T.sblock_alloc_buffer((96,))
        var = T.sblock_alloc_buffer((96,))
        for i, k in T.grid(96, 1531):
            with T.sblock("mean"):
                v_i, v_k = T.axis.remap("SR", [i, k])
                T.reads(A[v_i, v_k])
                T.writes(mean[v_i])
                with T.init():
                    mean[v_i] = T.float32(0.0)
                mean[v_i] = mean[v_i] + A[v_i, v_k] / T.float32(1531.0)
        for i, k2 in T.grid(96, 1531):
            with T.sblock("var"):
                v_i, v_k2 = T.axis.remap("SR", [i, k2])
                T.reads(A[v_i, v_k2], mean[v_i])
                T.writes(var[v_i])
                with T.init():
                    var[v_i] = T.float32(0.0)
                var[v_i] = var[v_i] + (A[v_i, v_k2] - mean[v_i]) * (A[v_i, v_k2] - mean[v_i]) / T.float32(1531.0)
        for i, j in T.grid(96, 1531):
            with T.sblock("Y"):
                v_i, v_j = T.axis.remap("SS", [i, j])
                T.reads(A[v_i, v_j], mean[v_i], var[v_i], g[v_j])
                T.writes(Y[v_i, v_j])
                Y[v_i, v_j] = (A[v_i, v_j] - mean[v_i]) / T.sqrt(var[v_i] + T.float32(1.0000000000000001e-05)) * g[v_j]
