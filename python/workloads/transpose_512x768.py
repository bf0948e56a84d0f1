# from tvm.script import ir as I
# from tvm.script import tirx as T
# A 2-D transpose C[768, 512] = A[512, 768]^T: each cache line of A serves one element of a
# row of C unless both loops are tiled.

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(A: T.Buffer((512, 768), "float32"), C: T.Buffer((768, 512), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        for i, j in T.grid(768, 512):
            with T.sblock("C"):
                v_i, v_j = T.axis.remap("SS", [i, j])
                T.reads(A[v_j, v_i])
                T.writes(C[v_i, v_j])
                C[v_i, v_j] = A[v_j, v_i]
