"""Host target detection and user overrides."""

from __future__ import annotations

import pytest
import tvm

from tvm_llm_sched.errors import TargetError
from tvm_llm_sched.hardware import detect_cpu, host_target, resolve_target


def test_host_target_has_mcpu_and_cores():
    target = host_target()
    assert target.kind.name == "llvm"
    assert str(target.attrs["mcpu"]) == str(tvm.target.codegen.llvm_get_system_cpu())
    assert int(target.attrs["num-cores"]) >= 1


def test_overrides_replace_detected_values():
    target = host_target(num_cores=1)
    assert int(target.attrs["num-cores"]) == 1


@pytest.mark.parametrize("spec", [None, "host", "llvm"])
def test_default_and_bare_llvm_resolve_to_host_cpu(spec):
    target = resolve_target(spec)
    assert str(target.attrs["mcpu"]) == str(tvm.target.codegen.llvm_get_system_cpu())


def test_cli_style_and_json_strings_are_accepted():
    assert int(resolve_target("llvm -mcpu=znver3 -num-cores 4").attrs["num-cores"]) == 4
    assert str(resolve_target('{"kind": "llvm", "mcpu": "skylake-avx512"}').attrs["mcpu"]) == (
        "skylake-avx512"
    )
    assert resolve_target({"kind": "llvm", "mcpu": "znver3"}).kind.name == "llvm"


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("nonsense", "nonsense"),
        ("llvm -mcpu=not-a-cpu", "not-a-cpu"),
        ("-mcpu=x", "target kind"),
        ("llvm -num-cores", "no value"),
        ("{not json", "JSON"),
        (42, "must be a str"),
    ],
)
def test_invalid_targets_raise_target_error(spec, fragment):
    with pytest.raises(TargetError, match=fragment):
        resolve_target(spec)


def test_target_error_is_a_value_error():
    with pytest.raises(ValueError):
        resolve_target("nonsense")


def test_cpu_facts_and_peak_formula():
    cpu = detect_cpu()
    assert cpu.simd_bits in (128, 256, 512)
    assert cpu.fp32_lanes == cpu.simd_bits // 32
    assert cpu.peak_fp32_gflops > 0
    assert f"{cpu.peak_fp32_gflops:.1f} GFLOP/s" in cpu.peak_formula
    assert f"cores={cpu.cores}" in cpu.summary()


def test_generic_cpu_has_narrower_simd_than_avx512_cpu():
    assert detect_cpu({"kind": "llvm", "mcpu": "skylake-avx512", "num-cores": 1}).simd_bits == 512
    assert detect_cpu({"kind": "llvm", "mcpu": "haswell", "num-cores": 1}).simd_bits == 256
