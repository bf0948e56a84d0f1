"""Workload specs: standard te_workloads and TVMScript files."""

from __future__ import annotations

import pytest
import tvm_ffi

from tvm_llm_sched.errors import WorkloadError
from tvm_llm_sched.workloads import load_workload, standard_workload_names


def test_standard_workload_and_flops():
    workload = load_workload("GMM:1")  # batch matmul 1x512x32x512
    assert workload.name == "GMM:1"
    assert workload.slug == "GMM_1"
    assert workload.flops == 2 * 512 * 32 * 512
    assert "main" in [gv.name_hint for gv in workload.mod.functions]


def test_index_defaults_to_zero_and_names_are_case_insensitive():
    assert load_workload("gmm").name == "GMM:0"


def test_every_standard_kind_loads():
    for name in standard_workload_names():
        assert load_workload(f"{name}:0").flops > 0


def test_tvmscript_file_round_trip(tmp_path):
    reference = load_workload("SFM:0")
    path = tmp_path / "softmax.py"
    path.write_text(reference.mod.script())
    loaded = load_workload(str(path))
    assert loaded.name == "softmax"
    assert tvm_ffi.structural_equal(loaded.mod, reference.mod)


@pytest.mark.parametrize(
    "spec, fragment",
    [("NOPE:0", "unknown workload"), ("GMM:99", "indices 0..3"), ("GMM:x", "integer")],
)
def test_bad_specs(spec, fragment):
    with pytest.raises(WorkloadError, match=fragment):
        load_workload(spec)


def test_bad_files(tmp_path):
    with pytest.raises(WorkloadError, match="cannot read"):
        load_workload(str(tmp_path / "missing.py"))
    broken = tmp_path / "broken.py"
    broken.write_text("this is not TVMScript(")
    with pytest.raises(WorkloadError, match="not valid TVMScript"):
        load_workload(str(broken))


def test_workload_tvm_cannot_build_is_a_clean_error():
    assert "C2D_WIN_NHWC" not in standard_workload_names()
    with pytest.raises(WorkloadError, match="TVM cannot build"):
        load_workload("C2D_WIN_NHWC:0")
