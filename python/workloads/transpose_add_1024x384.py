# from tvm.script import ir as I
# from tvm.script import tirx as T
# C[384, 1024] = A[1024, 384]^T + B: a transpose fused with an elementwise add.

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(A: T.Buffer((1024, 384), "float32"), B: T.Buffer((384, 1024), "float32"), C: T.Buffer((384, 1024), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        for i, j in T.grid(384, 1024):
            with T.sblock("C"):
                v_i, v_j = T.axis.remap("SS", [i, j])
                T.reads(A[v_j, v_i], B[v_i, v_j])
                T.writes(C[v_i, v_j])
                C[v_i, v_j] = A[v_j, v_i] + B[v_i, v_j]
