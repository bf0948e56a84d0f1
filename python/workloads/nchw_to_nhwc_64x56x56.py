# from tvm.script import ir as I
# from tvm.script import tirx as T
# A layout change NCHW -> NHWC (1x64x56x56 fp32), as a model's layout conversion.

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(A: T.Buffer((1, 64, 56, 56), "float32"), Y: T.Buffer((1, 56, 56, 64), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        for n, h, w, c in T.grid(1, 56, 56, 64):
            with T.sblock("Y"):
                v_n, v_h, v_w, v_c = T.axis.remap("SSSS", [n, h, w, c])
                T.reads(A[v_n, v_c, v_h, v_w])
                T.writes(Y[v_n, v_h, v_w, v_c])
                Y[v_n, v_h, v_w, v_c] = A[v_n, v_c, v_h, v_w]
