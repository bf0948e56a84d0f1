# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

# The mean of each of 333 rows of 1777 fp32: 1777 is prime, so no perfect tile of the
# reduction fills a SIMD vector and MetaSchedule's rfactor leaves the partial sums scalar.

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(A: T.Buffer((333, 1777), "float32"), Y: T.Buffer((333,), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        S = T.sblock_alloc_buffer((333,))
        for i, k in T.grid(333, 1777):
            with T.sblock("S"):
                v_i, v_k = T.axis.remap("SR", [i, k])
                T.reads(A[v_i, v_k])
                T.writes(S[v_i])
                with T.init():
                    S[v_i] = T.float32(0.0)
                S[v_i] = S[v_i] + A[v_i, v_k]
        for i in range(333):
            with T.sblock("Y"):
                v_i = T.axis.spatial(333, i)
                T.reads(S[v_i])
                T.writes(Y[v_i])
                Y[v_i] = S[v_i] / T.float32(1777.0)
