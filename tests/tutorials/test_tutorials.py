"""The runnable examples in tutorials/ run (small budgets)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"
pytestmark = pytest.mark.tuning


@pytest.mark.parametrize(
    "script, argv, expected",
    [
        ("01_tune_with_metaschedule.py", [], "GFLOP/s"),
        ("02_llm_guided_search.py", ["GMM:0", "8"], "verified: True"),
        ("03_model_endpoint.py", [], "0 missed, identical records: True"),
        ("04_relax_model.py", ["1"], "outputs match: True"),
    ],
)
def test_tutorial_runs(script, argv, expected, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script, *argv])
    runpy.run_path(str(TUTORIALS / script), run_name="__main__")
    assert expected in capsys.readouterr().out
