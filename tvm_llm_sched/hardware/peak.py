"""The fp32 peak as measured: a TVM-built loop of independent FMAs on every core.

The theoretical peak (:attr:`CpuInfo.peak_fp32_gflops`) uses the clock that ``/proc/cpuinfo``
reports, which on VMs is the nominal clock; cores that turbo run faster, and a tuned program can
then exceed "100 % of peak". The measured peak is what this machine's FMA units deliver to code
that TVM generates, so it bounds every tuned program from above.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .cpu import detect_cpu
from .target import resolve_target

# Each broadcast of B feeds two vector FMAs (one broadcast per FMA saturates the load ports
# first: 309 against 386 GFLOP/s on the AVX-512 test VM). Accumulators: 2 x chains, at least
# FMA latency (4 cycles) x 2 pipes = 8, and with the two A vectors and the broadcast within the
# register file (32 vector registers with AVX-512, 16 otherwise).
_VECTORS_PER_CHAIN = 2
_INNER = 256  # B's row length: chains x 256 floats stay in L1d
_REPEATS = 256


def _chains(simd_bits: int) -> int:
    return 8 if simd_bits >= 512 else 6


@dataclasses.dataclass(frozen=True)
class MeasuredPeak:
    """A measured fp32 throughput.

    Attributes
    ----------
    gflops : float
        Best GFLOP/s over the timing rounds.
    threads : int
        Parallel chunks (one per core of the target).
    theoretical_gflops : float
        :attr:`CpuInfo.peak_fp32_gflops` of the same target, for comparison.
    nominal_clock_ghz : float
        The clock that formula uses.
    """

    gflops: float
    threads: int
    theoretical_gflops: float
    nominal_clock_ghz: float

    @property
    def implied_clock_ghz(self) -> float:
        """The clock at which the theoretical formula gives the measured GFLOP/s."""
        return self.nominal_clock_ghz * self.gflops / self.theoretical_gflops


def _fma_loop(cores: int, chains: int, width: int) -> Any:
    """C[c, ch, l] = sum over (r, k) of A[c, l] * B[ch, k]: ``chains x width`` accumulators held in
    registers, B's scalar broadcast from L1d, ``width / lanes`` FMAs per broadcast."""
    import tvm
    from tvm import s_tir, te

    a = te.placeholder((cores, width), name="A")
    b = te.placeholder((chains, _INNER), name="B")
    r = te.reduce_axis((0, _REPEATS), name="r")
    k = te.reduce_axis((0, _INNER), name="k")
    c = te.compute(
        (cores, chains, width),
        lambda i, ch, v: te.sum(a[i, v] * b[ch, k], axis=[r, k]),
        name="C",
    )
    sch = s_tir.Schedule(tvm.IRModule({"main": te.create_prim_func([a, b, c])}))
    block = sch.get_sblock("C")
    i, ch, v, rr, kk = sch.get_loops(block)
    sch.reorder(i, rr, kk, ch, v)
    local = sch.cache_write(block, 0, "local")
    sch.reverse_compute_at(local, i)
    sch.vectorize(sch.get_loops(local)[-1])
    sch.parallel(i)
    sch.unroll(ch)
    sch.vectorize(v)
    init = sch.decompose_reduction(block, rr)
    sch.vectorize(sch.get_loops(init)[-1])
    return sch.mod


def measure_fp32_peak(target: Any = None, *, rounds: int = 5) -> MeasuredPeak:
    """Time the FMA loop on every core of ``target`` (default: the host) and return its GFLOP/s.

    Call :func:`~tvm_llm_sched.hardware.use_target_cores` first (the CLI does), or TVM's
    runtime may run it on fewer threads than the target has cores.

    Parameters
    ----------
    target : anything :func:`~tvm_llm_sched.hardware.resolve_target` accepts
        An llvm target.
    rounds : int
        Timing rounds; the best one counts.
    """
    import tvm

    target = resolve_target(target)
    cpu = detect_cpu(target)
    cores, chains = cpu.cores, _chains(cpu.simd_bits)
    width = cpu.fp32_lanes * _VECTORS_PER_CHAIN
    lib = tvm.compile(_fma_loop(cores, chains, width), target=target).mod
    device = tvm.cpu(0)
    rng = np.random.default_rng(0)
    args = [
        tvm.runtime.tensor(rng.uniform(0.5, 1.0, shape).astype("float32"), device=device)
        for shape in ((cores, width), (chains, _INNER), (cores, chains, width))
    ]
    evaluator = lib.time_evaluator("main", device, number=5, repeat=rounds, min_repeat_ms=50)
    seconds = min(evaluator(*args).results)
    flops = 2.0 * cores * chains * width * _INNER * _REPEATS
    return MeasuredPeak(
        gflops=flops / seconds / 1e9,
        threads=cores,
        theoretical_gflops=cpu.peak_fp32_gflops,
        nominal_clock_ghz=cpu.clock_ghz,
    )
