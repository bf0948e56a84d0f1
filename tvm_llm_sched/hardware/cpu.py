"""CPU facts for prompts and for the fp32 peak: SIMD width, FMA units, cores, clock, caches."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class CpuInfo:
    """What the tuner needs to know about a CPU.

    Attributes
    ----------
    name : str
        LLVM's name for the CPU (the target's ``mcpu``).
    cores : int
        Cores the tuned program may use (the target's ``num-cores``).
    simd_bits : int
        Widest vector register: 512 (AVX-512), 256 (AVX2), 128 (SSE/NEON).
    fma : bool
        Whether fused multiply-add exists.
    fma_units : int
        Vector FMA pipes per core (2 on server AVX-512 and AVX2 cores, an assumption: CPUs do not
        report it).
    clock_ghz : float
        Nominal clock (from ``/proc/cpuinfo``).
    l1d_kib, l2_kib, l3_kib : int
        Per-core L1d and L2, shared L3 (0 if unknown).
    """

    name: str
    cores: int
    simd_bits: int
    fma: bool
    fma_units: int
    clock_ghz: float
    l1d_kib: int
    l2_kib: int
    l3_kib: int

    @property
    def fp32_lanes(self) -> int:
        """fp32 elements in one vector register."""
        return self.simd_bits // 32

    @property
    def peak_fp32_gflops(self) -> float:
        """Theoretical fp32 peak: lanes x 2 (FMA) x FMA units x cores x clock."""
        flops_per_cycle = self.fp32_lanes * (2 if self.fma else 1) * self.fma_units
        return flops_per_cycle * self.cores * self.clock_ghz

    @property
    def peak_formula(self) -> str:
        """The peak computation spelled out, for reports."""
        return (
            f"{self.fp32_lanes} fp32 lanes x {2 if self.fma else 1} (FMA) x {self.fma_units} units"
            f" x {self.cores} cores x {self.clock_ghz:.2f} GHz"
            f" = {self.peak_fp32_gflops:.1f} GFLOP/s"
        )

    def summary(self) -> str:
        """One line for prompts: target, cores, SIMD width, caches."""
        return (
            f"cpu={self.name} cores={self.cores} simd={self.simd_bits}bit "
            f"({self.fp32_lanes} x f32) fma={'yes' if self.fma else 'no'} "
            f"L1d={self.l1d_kib}KiB L2={self.l2_kib}KiB L3={self.l3_kib}KiB"
        )


def _cache_kib(level: int, kind: str) -> int:
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(root.glob("index*")):
        try:
            if (
                int((index / "level").read_text()) == level
                and (index / "type").read_text().strip() in kind
            ):
                size = (index / "size").read_text().strip()
                number = int(re.sub(r"\D", "", size))
                return number * 1024 if size.endswith("M") else number
        except (OSError, ValueError):
            continue
    return 0


def _clock_ghz() -> float:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 2.0
    match = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)
    if match:
        return float(match.group(1)) / 1000.0
    match = re.search(r"^bogomips\s*:\s*([\d.]+)", text, re.M | re.I)
    return float(match.group(1)) / 2000.0 if match else 2.0


def _target_features(target) -> set[str]:
    import tvm

    try:
        with target:
            features = tvm.target.codegen.llvm_get_cpu_features()
        return {str(name) for name in features}
    except Exception:  # non-llvm targets or LLVM builds without the query
        return set()


def detect_cpu(target: Any = None) -> CpuInfo:
    """Describe the CPU a target compiles for (default: the host target).

    Parameters
    ----------
    target : tvm.target.Target | str | dict | None
        Anything :func:`~tvm_llm_sched.hardware.resolve_target` accepts.
    """
    from .target import resolve_target

    # Cached by the target's text (Target objects hash by identity): proposers ask for every
    # situation, and the answer reads /proc, /sys and LLVM's feature table.
    resolved = resolve_target(target)
    key = str(resolved)
    if key not in _CPU_CACHE:
        _CPU_CACHE[key] = _describe(resolved)
    return _CPU_CACHE[key]


_CPU_CACHE: dict[str, CpuInfo] = {}


def _describe(target: Any) -> CpuInfo:
    features = _target_features(target)
    if "avx512f" in features:
        simd_bits = 512
    elif "avx2" in features or "avx" in features:
        simd_bits = 256
    else:
        simd_bits = 128
    cores = int(target.attrs.get("num-cores", os.cpu_count() or 1))
    return CpuInfo(
        name=str(target.attrs.get("mcpu", "generic")),
        cores=cores,
        simd_bits=simd_bits,
        fma="fma" in features or simd_bits == 512,
        fma_units=2 if simd_bits >= 256 else 1,
        clock_ghz=round(_clock_ghz(), 3),
        l1d_kib=_cache_kib(1, "Data Unified"),
        l2_kib=_cache_kib(2, "Unified Data"),
        l3_kib=_cache_kib(3, "Unified Data"),
    )
