"""``tvm-llm-sched info``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import tvm_llm_sched
from tvm_llm_sched.cli import app


def test_info_json_reports_versions_backend_and_target():
    result = CliRunner().invoke(app, ["info", "--json"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.output)
    assert facts["apache_tvm"].startswith("0.27.0")
    assert facts["apache_tvm_ffi"] == "0.1.14.post1"
    assert facts["native_backend"] == tvm_llm_sched.native_backend()
    assert facts["target"]["kind"] == "llvm" and facts["target"]["mcpu"]
    assert "GFLOP/s" in facts["fp32_peak"]
