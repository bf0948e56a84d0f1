"""``tvm-llm-sched ir``."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from tvm_llm_sched.cli import app
from tvm_llm_sched.ir import render
from tvm_llm_sched.steps import State, parse_step
from tvm_llm_sched.workloads import load_workload


def test_ir_prints_state_menu_and_ratio():
    result = CliRunner().invoke(app, ["ir", "-w", "GMM:1", "--menu", "6"])
    assert result.exit_code == 0, result.output
    state = State.initial(load_workload("GMM:1").mod)
    assert render(state.schedule) in result.output
    menu = result.output.split("# legal steps\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(menu) == 6
    for line in menu:  # every listed step is legal on the state
        state.apply(parse_step(line))
    ratio = float(re.search(r"TVMScript \(([\d.]+)x\)", result.output).group(1))
    assert ratio >= 4.0


def test_ir_design_space_shows_decisions():
    result = CliRunner().invoke(app, ["ir", "-w", "GMM:0", "-d", "0", "--menu", "3"])
    assert result.exit_code == 0, result.output
    assert "decisions" in result.output and "tile(" in result.output


def test_ir_bad_workload_and_space_index():
    assert CliRunner().invoke(app, ["ir", "-w", "NOPE:1"]).exit_code == 2
    assert CliRunner().invoke(app, ["ir", "-w", "GMM:0", "-d", "99"]).exit_code != 0
