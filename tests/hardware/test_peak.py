"""The measured fp32 peak: the FMA loop computes what it claims, and its rate is plausible."""

from __future__ import annotations

import numpy as np
import tvm

from tvm_llm_sched.hardware import host_target, use_target_cores
from tvm_llm_sched.hardware.peak import _INNER, _REPEATS, _fma_loop, measure_fp32_peak


def test_the_fma_loop_does_all_its_work():
    # A loop the compiler had shortened would time less work than it is credited with.
    cores, chains, width = 2, 8, 32
    lib = tvm.compile(_fma_loop(cores, chains, width), target=host_target())
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 1.0, (cores, width)).astype("float32")
    b = rng.uniform(0.5, 1.0, (chains, _INNER)).astype("float32")
    out = tvm.runtime.tensor(np.zeros((cores, chains, width), "float32"))
    lib["main"](tvm.runtime.tensor(a), tvm.runtime.tensor(b), out)
    expected = _REPEATS * a[:, None, :] * b.sum(axis=1)[None, :, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-3)


def test_measured_peak_is_plausible():
    target = host_target()
    use_target_cores(target)
    peak = measure_fp32_peak(target, rounds=1)
    assert peak.threads == int(target.attrs["num-cores"])
    # Turbo clocks can beat the nominal-clock formula, but not by 2x; a sliver means no FMAs.
    assert 0.1 * peak.theoretical_gflops < peak.gflops < 2 * peak.theoretical_gflops
    assert peak.implied_clock_ghz > 0
