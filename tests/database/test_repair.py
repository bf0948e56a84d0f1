"""Repairing a work dir torn by a killed process: every complete record kept, the bad bytes moved
to a side file, and TVM opens (and a tuning run resumes) the work dir again."""

from __future__ import annotations

import json

import pytest

from tvm_llm_sched.database import RECORD_FILE, SIDE_SUFFIX, WORKLOAD_FILE, repair_work_dir
from tvm_llm_sched.errors import DatabaseRecordError

_WORKLOAD = b'["0x1", {"module": "m"}]\n'


def _record(index: int, workload: int = 0) -> bytes:
    return json.dumps([workload, [[index], [1e-5], {"kind": "llvm"}, []]]).encode() + b"\n"


def _work_dir(tmp_path, records: bytes, workloads: bytes = _WORKLOAD):
    (tmp_path / WORKLOAD_FILE).write_bytes(workloads)
    (tmp_path / RECORD_FILE).write_bytes(records)
    return tmp_path


def test_a_partial_last_line_is_cut_and_kept_aside_byte_for_byte(tmp_path, caplog):
    complete = b"".join(_record(i) for i in range(3))
    torn = _record(3)[:17]
    work = _work_dir(tmp_path, complete + torn)
    report = repair_work_dir(work)
    assert (work / RECORD_FILE).read_bytes() == complete
    assert (work / (RECORD_FILE + SIDE_SUFFIX)).read_bytes() == torn
    assert report.records == 3 and report.moved == {RECORD_FILE: 1}
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and SIDE_SUFFIX in warnings[0].getMessage()


def test_a_clean_work_dir_is_left_untouched(tmp_path):
    complete = b"".join(_record(i) for i in range(2))
    work = _work_dir(tmp_path, complete)
    report = repair_work_dir(work)
    assert not report.repaired and (work / RECORD_FILE).read_bytes() == complete
    assert not (work / (RECORD_FILE + SIDE_SUFFIX)).exists()
    assert not repair_work_dir(tmp_path / "missing").repaired


def test_a_bad_middle_line_moves_and_the_rest_stays_in_order(tmp_path):
    good = [_record(i) for i in range(3)]
    work = _work_dir(tmp_path, good[0] + b"{not json\n" + good[1] + b'["shape"]\n' + good[2])
    report = repair_work_dir(work)
    assert (work / RECORD_FILE).read_bytes() == b"".join(good)
    assert (work / (RECORD_FILE + SIDE_SUFFIX)).read_bytes() == b'{not json\n["shape"]\n'
    assert report.moved == {RECORD_FILE: 2}


def test_a_complete_unterminated_last_line_is_kept_and_ended(tmp_path):
    work = _work_dir(tmp_path, _record(0) + _record(1)[:-1])
    assert not repair_work_dir(work).repaired
    assert (work / RECORD_FILE).read_bytes() == _record(0) + _record(1)


def test_a_torn_workload_takes_its_records_aside(tmp_path):
    work = _work_dir(
        tmp_path, _record(0) + _record(1, workload=1), workloads=_WORKLOAD + _WORKLOAD[:9]
    )
    report = repair_work_dir(work)
    assert (work / WORKLOAD_FILE).read_bytes() == _WORKLOAD
    assert (work / RECORD_FILE).read_bytes() == _record(0)
    assert report.moved == {WORKLOAD_FILE: 1, RECORD_FILE: 1}
    assert (work / (RECORD_FILE + SIDE_SUFFIX)).read_bytes() == _record(1, workload=1)


def test_a_broken_workload_before_the_last_is_an_error_and_changes_nothing(tmp_path):
    workloads = b"{broken\n" + _WORKLOAD
    work = _work_dir(tmp_path, _record(0), workloads=workloads)
    with pytest.raises(DatabaseRecordError, match=rf"{WORKLOAD_FILE}:1:"):
        repair_work_dir(work)
    assert (work / WORKLOAD_FILE).read_bytes() == workloads
    assert not list(work.glob(f"*{SIDE_SUFFIX}"))


@pytest.mark.tuning
def test_a_torn_work_dir_resumes_with_every_complete_record(tmp_path):
    """N complete records plus a partial line: TVM refuses the work dir; after the repair (which
    tune_workload runs first) the run keeps the N records and adds its own."""
    from tvm.s_tir import meta_schedule as ms

    from tvm_llm_sched.tune import tune_workload

    work = tmp_path / "work"
    tune_workload("GMM:0", trials=8, num_trials_per_iter=4, work_dir=work, progress=False, seed=1)
    records = work / RECORD_FILE
    complete = records.read_bytes()
    n = complete.count(b"\n")
    assert n == 8
    torn = complete.splitlines(keepends=True)[0][:40]
    records.write_bytes(complete + torn)
    with pytest.raises(Exception, match="Unexpected token|parse|JSON"):
        ms.database.JSONDatabase(work_dir=str(work))  # what a user meets without the repair

    result = tune_workload(
        "GMM:0", trials=8, num_trials_per_iter=4, work_dir=work, progress=False, seed=2
    )
    assert (work / (RECORD_FILE + SIDE_SUFFIX)).read_bytes() == torn
    assert records.read_bytes().startswith(complete)  # the N records, untouched
    assert result.trials == 16
