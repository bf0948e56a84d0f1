"""The one-line switch for unmodified Relax scripts: which strategy TVM's factories hand out, where,
for how long; and, with real tuning, that the passes tune LLM-guided and the records are applied."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import tvm
from tvm import relax
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.meta_schedule.database import Database
from tvm.s_tir.meta_schedule.search_strategy import (
    EvolutionarySearch,
    ReplayTrace,
    SearchStrategy,
)
from tvm.script import relax as R

import tvm_llm_sched.relax as llm_relax
from tvm_llm_sched.database.lineage import LINEAGE_FILE, read_lineage
from tvm_llm_sched.database.repair import RECORD_FILE, SIDE_SUFFIX
from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.testing.strategy_conformance import replay_record


@tvm.script.ir_module
class MatmulRelu:
    @R.function
    def main(x: R.Tensor((16, 32), "float32"), w: R.Tensor((32, 16), "float32")) -> R.Tensor(
        (16, 16), "float32"
    ):
        with R.dataflow():
            y = R.matmul(x, w)
            z = R.nn.relu(y)
            R.output(z)
        return z


def _inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.uniform(-1, 1, (16, 32)).astype("float32"),
        rng.uniform(-1, 1, (32, 16)).astype("float32"),
    ]


def _run(mod, target) -> np.ndarray:
    vm = relax.VirtualMachine(tvm.compile(mod, target), tvm.cpu())
    return vm["main"](*(tvm.runtime.tensor(a) for a in _inputs())).numpy()


def _want() -> np.ndarray:
    x, w = _inputs()
    return np.maximum(x @ w, 0)


def _created(kind="evolutionary", **kwargs):
    return SearchStrategy.create(kind, **kwargs)


# -- the switch itself (no tuning) -----------------------------------------------------------------
def test_switches_only_the_default_kind_inside_the_block_and_restores_tvm():
    original_strategy, original_db = SearchStrategy.create, Database.create
    original_apply = relax.transform.MetaScheduleApplyDatabase
    template = LLMGuidedSearch()
    with llm_relax.use_strategy(template) as active:
        assert active is template and llm_relax.active_strategy() is template
        made = _created()
        assert isinstance(made, LLMGuidedSearch) and made is not template  # a clone per task
        assert isinstance(_created("replay-trace"), ReplayTrace)  # another kind: kept
        assert isinstance(_created(population_size=8), EvolutionarySearch)  # configured: kept
        # TuneContext is where every entry point turns the name into an object.
        mod = tvm.IRModule({"main": relax.transform.LegalizeOps()(MatmulRelu)["matmul"]})
        ctx = ms.TuneContext(mod, target=host_target(), search_strategy="evolutionary")
        # read back from C++, a Python strategy is a bare FFI object: the Python type is gone
        assert not isinstance(ctx.search_strategy, EvolutionarySearch)
        assert type(ctx.search_strategy).__name__ == "_PySearchStrategy"
        explicit = ms.TuneContext(
            mod,
            target=host_target(),
            space_generator="post-order-apply",
            search_strategy=ReplayTrace(),
        )
        assert isinstance(explicit.search_strategy, ReplayTrace)
        with llm_relax.use_strategy(LLMGuidedSearch("random")) as inner:
            assert llm_relax.active_strategy() is inner  # nested: the innermost wins
        assert llm_relax.active_strategy() is template
    assert llm_relax.active_strategy() is None
    assert isinstance(_created(), EvolutionarySearch)
    assert SearchStrategy.create is original_strategy and Database.create is original_db
    assert relax.transform.MetaScheduleApplyDatabase is original_apply


def test_switch_is_per_thread_and_process_wide_on_request():
    seen = {}
    inside, done = threading.Event(), threading.Event()

    def other_thread():
        inside.wait()
        seen["other"] = type(_created()).__name__
        done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with llm_relax.use_strategy():
        inside.set()
        done.wait(60)
        seen["this"] = type(_created()).__name__
    worker.join()
    assert seen == {"this": "LLMGuidedSearch", "other": "EvolutionarySearch"}

    template = llm_relax.set_process_strategy()
    try:
        result = []
        thread = threading.Thread(target=lambda: result.append(_created()))
        thread.start()
        thread.join()
        assert isinstance(result[0], LLMGuidedSearch) and result[0] is not template
    finally:
        llm_relax.clear_process_strategy()
    assert isinstance(_created(), EvolutionarySearch)
    llm_relax.clear_process_strategy()  # a second clear is a no-op


def test_rejects_what_is_not_a_strategy():
    with pytest.raises(TypeError, match="SearchStrategy"):
        with llm_relax.use_strategy("llm"):
            pass
    assert llm_relax.active_strategy() is None


# -- real tuning through the unmodified entry points ---------------------------------------------
def _check_records_applied(work_dir: Path, applied, target) -> None:
    """Every tuned task's function is marked scheduled and is the database's best trace."""
    database = ms.database.JSONDatabase(work_dir=str(work_dir))
    tasks = ms.relax_integration.extract_tasks(relax.transform.LegalizeOps()(MatmulRelu), target)
    assert len(tasks) == 2
    for task in tasks:
        func = applied[task.task_name]
        assert func.attrs["tirx.is_scheduled"], task.task_name
        best = database.query_tuning_record(task.dispatched[0], target, workload_name="main")
        assert best is not None, task.task_name
        want = replay_record(best).mod["main"]
        tvm.ir.assert_structural_equal(func.body, want.body, map_free_vars=True)


@pytest.mark.tuning
def test_tune_irmod_pass_tunes_llm_guided_and_apply_database_repairs_and_applies(tmp_path):
    target = tvm.target.Target(host_target())
    legal = relax.transform.LegalizeOps()(MatmulRelu)
    with llm_relax.use_strategy(LLMGuidedSearch()), target:
        # TVM's 64 trials per iteration would give the first task the whole global budget.
        relax.transform.MetaScheduleTuneIRMod(
            {}, str(tmp_path), max_trials_global=8, max_trials_per_task=4
        )(legal)
    lineage = read_lineage(tmp_path)  # written by LLMGuidedSearch only, never by TVM's strategies
    assert len({e.workload for e in lineage.entries}) == 2 and len(lineage.entries) >= 4

    # A run killed mid-append leaves a torn line; C++ alone would refuse the whole database.
    with open(tmp_path / RECORD_FILE, "a") as out:
        out.write('[0, [[["torn')
    with llm_relax.use_strategy(), target:
        applied = relax.transform.MetaScheduleApplyDatabase(str(tmp_path))(legal)
    assert "torn" in (tmp_path / (RECORD_FILE + SIDE_SUFFIX)).read_text()
    _check_records_applied(tmp_path, applied, target)
    np.testing.assert_allclose(_run(applied, target), _want(), rtol=1e-5, atol=1e-5)


@pytest.mark.tuning
def test_tune_tir_pass_and_our_pipeline_without_arguments(tmp_path):
    target = tvm.target.Target(host_target())
    matmul = tvm.IRModule({"matmul": relax.transform.LegalizeOps()(MatmulRelu)["matmul"]})
    with llm_relax.use_strategy(), target:
        relax.transform.MetaScheduleTuneTIR(str(tmp_path / "tir"), 4)(matmul)
    assert len(read_lineage(tmp_path / "tir").entries) >= 2

    assert isinstance(relax.get_pipeline(llm_relax.PIPELINE_NAME), tvm.transform.Pass)
    work_dir = tmp_path / "pipeline"
    tuned = relax.get_pipeline(
        llm_relax.PIPELINE_NAME, work_dir=str(work_dir), max_trials_per_task=4
    )(MatmulRelu)
    assert (work_dir / LINEAGE_FILE).is_file()
    scheduled = [f for _, f in tuned.functions_items() if isinstance(f, tvm.tirx.PrimFunc)]
    assert scheduled and all(f.attrs and f.attrs.get("tirx.is_scheduled") for f in scheduled)
    np.testing.assert_allclose(_run(tuned, target), _want(), rtol=1e-5, atol=1e-5)


SCRIPT = """
import sys
import tvm
from tvm import relax
from tvm.script import relax as R

@tvm.script.ir_module
class Mod:
    @R.function
    def main(x: R.Tensor((16, 32), "float32"), w: R.Tensor((32, 16), "float32")):
        with R.dataflow():
            z = R.nn.relu(R.matmul(x, w))
            R.output(z)
        return z

target = tvm.target.Target(sys.argv[2])
mod = relax.get_pipeline("static_shape_tuning", total_trials=4, target=target,
                         work_dir=sys.argv[1])(Mod)
ex = tvm.compile(mod, target)
print("compiled", len(ex.stats()) > 0)
"""


@pytest.mark.tuning
def test_run_script_tunes_an_unmodified_static_shape_script_llm_guided(tmp_path):
    from typer.testing import CliRunner

    from tvm_llm_sched.cli import app

    script = tmp_path / "compile.py"
    script.write_text(SCRIPT)
    work_dir = tmp_path / "logs"
    target = str(host_target())  # a target's str is its JSON form, which Target() reads back
    result = CliRunner().invoke(app, ["run-script", str(script), str(work_dir), target])
    assert result.exit_code == 0, result.output
    assert "compiled True" in result.output
    assert len(read_lineage(work_dir).entries) >= 2  # the pipeline's tuning was LLM-guided
    assert llm_relax.active_strategy() is None  # restored after the script
