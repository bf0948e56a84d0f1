# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

# A dot product of two 100003-long fp32 vectors (prime) into a 0-d output.

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(A: T.Buffer((100003,), "float32"), B: T.Buffer((100003,), "float32"), C: T.Buffer((), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        for k in range(100003):
            with T.sblock("C"):
                v_k = T.axis.reduce(100003, k)
                T.reads(A[v_k], B[v_k])
                T.writes(C[()])
                with T.init():
                    C[()] = T.float32(0.0)
                C[()] = C[()] + A[v_k] * B[v_k]
