"""An existing Relax compile script, LLM-guided by one added line.

The script below is the usual static-shape tuning flow (``relax.get_pipeline("static_shape_tuning",
...)`` then ``tvm.compile``), unchanged except for the ``with use_strategy(...)`` line around it:
inside it, every MetaSchedule tuning that would use its default (EvolutionarySearch) uses
LLMGuidedSearch instead, one clone per task, and the work dir is repaired before TVM reopens it.
The same line works around ``relax.transform.MetaScheduleTuneIRMod`` / ``MetaScheduleTuneTIR``
and ``ms.relax_integration.tune_relax``. For a script you cannot edit at all::

    tvm-llm-sched run-script your_compile_script.py [its arguments]

The model is an MLP written with ``tvm.relax.frontend.nn``; any Relax module
with static shapes works (``nn.Module.export_tvm``, ``relax.frontend.torch.from_exported_program``).

Run with ``python tutorials/04_relax_model.py [trials per task]``.
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np
import tvm
from tvm import relax

from tvm_llm_sched import LLMGuidedSearch, host_target
from tvm_llm_sched.relax import examples, use_strategy


def main(trials_per_task: int = 16) -> None:
    """Tune, compile and run the MLP; compare with the untuned build."""
    model = examples.mlp()
    target = host_target()
    device = tvm.cpu()
    inputs = [tvm.runtime.tensor(a, device) for a in model.inputs]

    with tempfile.TemporaryDirectory() as work_dir:
        start = time.perf_counter()
        with use_strategy(LLMGuidedSearch()):  # <- the one added line
            mod = relax.get_pipeline(
                "static_shape_tuning",
                total_trials=trials_per_task * 16,  # at least trials x tasks, or tasks go untuned
                max_trials_per_task=trials_per_task,
                target=target,
                work_dir=work_dir,
            )(model.mod)
        tuned = relax.VirtualMachine(tvm.compile(mod, target), device)
        tune_s = time.perf_counter() - start

    untuned = relax.VirtualMachine(tvm.compile(model.mod, target), device)
    got, want = tuned["main"](*inputs).numpy(), untuned["main"](*inputs).numpy()
    scheduled = sum(
        1
        for _, f in mod.functions_items()
        if isinstance(f, tvm.tirx.PrimFunc) and f.attrs and f.attrs.get("tirx.is_scheduled")
    )

    def ms(vm: relax.VirtualMachine) -> float:
        return vm.time_evaluator("main", device, number=1, repeat=20)(*inputs).median * 1e3

    print(f"tuned {scheduled} functions in {tune_s:.0f} s")
    print(f"untuned {ms(untuned):.3f} ms, tuned {ms(tuned):.3f} ms")
    print(f"outputs match: {bool(np.allclose(got, want, rtol=1e-3, atol=1e-3))}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
