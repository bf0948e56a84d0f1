"""The dataset builder's pure parts: record keys, lineage lines, decision diffs, filters."""

from __future__ import annotations

import json

import pytest

from tvm_llm_sched.database.lineage import (
    LineageEntry,
    LineageWriter,
    read_lineage,
    trace_key,
)
from tvm_llm_sched.dataset.build import _is_inverse_shortcut
from tvm_llm_sched.dataset.edits import (
    decision_edits,
    sampled_decisions,
    skeleton_key,
    without_postproc,
)
from tvm_llm_sched.dataset.sample import End

INSTS = [
    ["GetSBlock", [], ["Z", "main"], ["b0"]],
    ["GetLoops", ["b0"], [], ["l1", "l2"]],
    ["SamplePerfectTile", ["l1"], [2, 64], ["v3", "v4"]],
    ["Split", ["l1", "v3", "v4"], [1, 0], ["l5", "l6"]],
    [
        "SampleCategorical",
        [],
        [[0, 16, 64], [0.3333333333333333, 0.3333333333333333, 0.3333]],
        ["v7"],
    ],
    ["SampleComputeLocation", ["b0"], [], ["v8"]],
    ["EnterPostproc", [], [], []],
    ["Parallel", ["l5"], [], []],
]


def trace(tile=(4, 8), choice=1, location=0):
    return [INSTS, [[2, list(tile)], [4, choice], [5, location]]]


def test_trace_key_ignores_float_printing_but_not_decisions():
    printed = json.loads(json.dumps(trace()).replace("0.3333333333333333", "0.33333333333333331"))
    assert trace_key(printed) == trace_key(trace())
    assert trace_key(trace(tile=(8, 4))) != trace_key(trace())


def test_decision_edits_name_decisions_in_trace_order():
    edits = decision_edits(trace(), trace(tile=(2, 16), location=-1))
    assert [e.to_text() for e in edits] == [
        "set_tile(d0, [2, 16])",
        "set_compute_location(d2, root)",
    ]
    assert decision_edits(trace(), trace()) == []
    other = [INSTS[:3] + INSTS[4:], trace()[1]]  # a different skeleton (no Split)
    assert decision_edits(trace(), other) is None


def test_postprocessing_is_not_part_of_the_design_space():
    cut = without_postproc(trace())
    assert [i[0] for i in cut[0]][-1] == "SampleComputeLocation" and len(cut[1]) == 3
    changed = [[*INSTS[:-1], ["Vectorize", ["l6"], [], []]], trace()[1]]
    assert skeleton_key(changed) == skeleton_key(trace())
    assert sampled_decisions(trace())[1] == ("SampleCategorical", 1)


def test_an_edit_that_undoes_the_previous_one_is_an_inverse_shortcut():
    before = End(trace=without_postproc(trace()), ir="")
    assert _is_inverse_shortcut(["set_tile(d0, [2, 16])", "set_tile(d0, [4, 8])"], before)
    assert not _is_inverse_shortcut(["set_tile(d0, [2, 16])", "set_tile(d0, [1, 32])"], before)
    assert not _is_inverse_shortcut(["set_tile(d0, [2, 16])", "set_choice(d1, 2)"], before)


def test_lineage_round_trips_and_torn_lines_are_counted(tmp_path):
    writer = LineageWriter(tmp_path, "123")
    entry = LineageEntry(
        workload="123", record="ab", source="proposer", parent="cd", steps=("parallel(l0)",)
    )
    writer.measured([entry, LineageEntry(workload="123", record="ef", source="sampling")])
    with (tmp_path / "llm_sched_lineage.jsonl").open("a") as f:
        f.write('{"v": 1, "workload": "123", "rec')  # a killed run's torn last line
    read = read_lineage(tmp_path)
    assert read.entries[0] == entry and len(read.entries) == 2 and read.malformed == 1
    assert read_lineage(tmp_path / "none").missing


@pytest.mark.parametrize("line", [[], {"v": 2}, {"v": 1, "record": 3, "workload": "1"}])
def test_foreign_lineage_lines_are_rejected(line):
    with pytest.raises(ValueError):
        LineageEntry.from_json(line)
