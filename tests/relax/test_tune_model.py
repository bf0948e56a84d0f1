"""Whole models end to end: loading (TVMScript, ``.pt2``), bad input, and ``tune-model`` tuning a
model's tasks, applying the records, and checking outputs against the untuned build and PyTorch."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import tvm
from tvm.ir.utils import derived_object
from tvm.s_tir.meta_schedule.search_strategy import PySearchStrategy
from tvm.script import relax as R
from typer.testing import CliRunner

from tvm_llm_sched.cli import app
from tvm_llm_sched.errors import DependencyError, ModelError
from tvm_llm_sched.relax import examples, from_torch, load_model, tune_model


@tvm.script.ir_module
class Dynamic:
    @R.function
    def main(x: R.Tensor(("n", 8), "float32")) -> R.Tensor(("n", 8), "float32"):
        with R.dataflow():
            y = R.nn.relu(x)
            R.output(y)
        return y


@tvm.script.ir_module
class NoOps:
    @R.function
    def main(x: R.Tensor((4, 8), "float32")) -> R.Tensor((4, 8), "float32"):
        return x


def test_nn_models_export_static_modules_with_inputs():
    mlp = examples.mlp(batch=4, d_in=16, hidden=32, d_out=8)
    assert [a.shape for a in mlp.inputs] == [(4, 16)]
    block = examples.decoder_block(seq=8, d_model=32, heads=2, ffn=64)
    assert [a.shape for a in block.inputs] == [(8, 32)]
    assert [gv.name_hint for gv in block.mod.get_global_vars()] == ["main"]


def test_bad_models_fail_clearly(tmp_path):
    with pytest.raises(ModelError, match="dynamic shape"):
        from tvm_llm_sched.relax import example_inputs

        example_inputs(Dynamic)
    with pytest.raises(ModelError, match="no model file"):
        load_model(tmp_path / "missing.pt2")
    text = tmp_path / "model.py"
    text.write_text("this is not TVMScript")
    with pytest.raises(ModelError, match="not a Relax TVMScript module"):
        load_model(text)
    broken = tmp_path / "broken.pt2"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises((ModelError, DependencyError), match="torch"):
        load_model(broken)
    model = examples.mlp(batch=2, d_in=8, hidden=8, d_out=8)
    model.mod = NoOps
    with pytest.raises(ModelError, match="no operator MetaSchedule can tune"):
        tune_model(model, trials_per_task=1, work_dir=tmp_path / "w", progress=False)


@pytest.mark.tuning
def test_tune_model_cli_on_a_tvmscript_file(tmp_path):
    model = examples.mlp(batch=8, d_in=32, hidden=64, d_out=32)
    path = tmp_path / "mlp.py"
    path.write_text(model.mod.script(show_meta=True))  # weights in the metadata section
    work_dir = tmp_path / "work"
    result = CliRunner().invoke(
        app,
        [
            "tune-model",
            str(path),
            "-n",
            "4",
            "--work-dir",
            str(work_dir),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "best=" in result.stderr  # a progress bar per task, on stderr
    report = json.loads(result.stdout)  # stdout holds the JSON alone
    assert report["tasks"] and all(t["scheduled"] and t["trials"] >= 1 for t in report["tasks"])
    assert report["max_error_vs_untuned"] < 1e-3 and report["max_error_vs_reference"] is None
    assert report["tuned_ms"] > 0 and report["untuned_ms"] > 0
    assert (work_dir / "llm_sched_lineage.jsonl").is_file()


@derived_object
class _NoCandidates(PySearchStrategy):
    """A strategy that gives up at once: its tasks end with no tuning record."""

    def _initialize_with_tune_context(self, context):
        pass

    def pre_tuning(self, *args, **kwargs):
        pass

    def post_tuning(self):
        pass

    def generate_measure_candidates(self):
        return None

    def notify_runner_results(self, *args):
        pass

    def clone(self):
        return _NoCandidates()


@pytest.mark.tuning
def test_a_task_without_records_keeps_the_default_schedule_and_the_model_compiles(tmp_path, caplog):
    model = examples.mlp(batch=4, d_in=16, hidden=16, d_out=16)
    with caplog.at_level(logging.WARNING, logger="tvm_llm_sched.relax"):
        result = tune_model(
            model, trials_per_task=2, strategy=_NoCandidates(), work_dir=tmp_path, progress=False
        )
    assert result.tasks and not any(t.scheduled for t in result.tasks)
    assert "keeps the default schedule" in caplog.text
    assert result.max_error_vs_untuned == 0.0


def test_pytorch_encoder_layer_loads_from_pt2_with_pytorch_as_reference(tmp_path, torch):
    layer = torch.nn.TransformerEncoderLayer(
        32, 2, dim_feedforward=128, dropout=0.0, batch_first=True
    )
    exported = torch.export.export(layer.eval(), (torch.randn(1, 8, 32),))
    torch.export.save(exported, tmp_path / "layer.pt2")
    loaded = load_model(tmp_path / "layer.pt2")
    assert loaded.source == "torch" and [a.shape for a in loaded.inputs] == [(1, 8, 32)]
    np.testing.assert_allclose(
        loaded.reference(loaded.inputs)[0],
        exported.module()(torch.from_numpy(loaded.inputs[0])).detach().numpy(),
    )
    assert examples.torch_encoder_layer(d_model=32, heads=2, seq=8).mod is not None


def test_an_operator_the_importer_lacks_fails_clearly(torch):
    class Histogram(torch.nn.Module):
        def forward(self, x):
            return torch.histc(x, bins=4)

    with pytest.raises(ModelError, match="importer cannot import 'histc'.*histc"):
        from_torch(Histogram(), (torch.randn(16),), name="histc")


@pytest.mark.tuning
def test_pytorch_model_tuned_end_to_end_matches_pytorch(tmp_path, torch):
    net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 16))
    model = from_torch(net, (torch.randn(8, 32),), name="mlp")
    result = tune_model(model, trials_per_task=2, work_dir=tmp_path, progress=False)
    assert result.max_error_vs_reference is not None and result.max_error_vs_reference < 1e-3
    assert result.reference_ms > 0 and all(t.scheduled for t in result.tasks)


@pytest.mark.tuning
@pytest.mark.parametrize("strategy", ["llm", "evolutionary"])
def test_an_embedding_lookup_task_is_tuned(tmp_path, monkeypatch, strategy):
    """The runner measures the integer-indexed ``take`` task (TVM's fill crashed it) whatever
    strategy tunes, so it gets a tuning record like every other task; every strategy also
    builds with our builder (the stock one's workers import for 20-40 s: a process that only
    ran EvolutionarySearch used to get it)."""
    from tvm_llm_sched import tvm_compat

    made = []
    for name in ("local_builder", "local_runner"):
        original = getattr(tvm_compat, name)
        monkeypatch.setattr(
            tvm_compat, name, lambda _o=original, _n=name, **kw: made.append(_n) or _o(**kw)
        )
    model = examples.embedding_mlp(tokens=16, vocab=512, d_model=32)
    result = tune_model(
        model, trials_per_task=2, strategy=strategy, work_dir=tmp_path, progress=False, seed=0
    )
    assert sorted(made) == ["local_builder", "local_runner"]
    names = [t.name for t in result.tasks]
    assert any("take" in name for name in names), names
    assert all(t.scheduled and t.best_us is not None for t in result.tasks), result.tasks
    assert result.max_error_vs_untuned < 1e-4


@pytest.mark.tuning
def test_weight_prepack_rewrites_the_weights_and_keeps_the_outputs(tmp_path):
    """With ``weight_prepack`` the matmul tasks see their weights as layout-free, the tuned
    schedules store them in the layout they read, and the constants are rewritten at compile
    time: the model keeps its inputs and its outputs."""
    from tvm_llm_sched.relax.pipeline import prepare_for_tuning, resolve_target
    from tvm_llm_sched.relax.tune_model import apply_records

    model = examples.mlp(batch=8, d_in=64, hidden=64, d_out=64)
    target = resolve_target()
    prepared = prepare_for_tuning(model.mod, target, weight_prepack=True)
    funcs = [(gv.name_hint, f) for gv, f in prepared.functions_items()]
    marked = [n for n, f in funcs if f.attrs and "layout_free_buffers" in f.attrs]
    assert any("matmul" in name for name in marked), marked
    result = tune_model(
        model, trials_per_task=4, work_dir=tmp_path, progress=False, seed=0, weight_prepack=True
    )
    assert result.weight_prepack and all(t.scheduled for t in result.tasks)
    assert result.max_error_vs_untuned < 1e-4
    applied = apply_records(prepared, tmp_path, target, weight_prepack=True)
    assert [p.name for p in applied["main"].params] == [p.name for p in model.mod["main"].params]
    # The 2-D weights are now constants in a tiled layout, read by the renamed tuned kernels.
    ranks = []

    def constant_rank(expr):
        if isinstance(expr, tvm.ir.expr.Constant) and hasattr(expr.value, "shape"):
            ranks.append(len(expr.value.shape))

    tvm.relax.analysis.post_order_visit(applied["main"], constant_rank)
    assert max(ranks) > 2, ranks
    assert any(gv.name_hint.endswith("_prepacked") for gv in applied.get_global_vars())
