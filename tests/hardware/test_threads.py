"""TVM's CPU runtime runs parallel loops on one thread per target core (not half the vCPUs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tvm_llm_sched.hardware import host_target, use_target_cores
from tvm_llm_sched.hardware.threads import ENV_VAR


def _threads_in_fresh_process(code: str, env: dict[str, str]) -> int:
    """Run ``code`` in a new interpreter, then report its TVM runtime's thread count."""
    script = textwrap.dedent(code) + "\nimport tvm; print(tvm.runtime.num_threads())\n"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1])


def test_the_runtime_gets_one_thread_per_target_core():
    env = {key: value for key, value in os.environ.items() if key != ENV_VAR}
    # TVM never runs more threads than logical CPUs.
    for cores in (1, 2):
        code = f"""
            from tvm_llm_sched.hardware import host_target, use_target_cores
            use_target_cores(host_target(num_cores={cores}))
        """
        assert _threads_in_fresh_process(code, env) == min(cores, os.cpu_count())
    # The default is the physical cores (the host target's num-cores), not TVM's half of the
    # logical CPUs: on this 2-core VM without SMT, TVM alone would run 1 thread.
    code = "from tvm_llm_sched.hardware import use_target_cores; use_target_cores()"
    physical = int(host_target().attrs["num-cores"])
    assert _threads_in_fresh_process(code, env) == min(physical, os.cpu_count())


def test_a_count_the_user_chose_wins(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    assert use_target_cores(host_target(num_cores=4)) == 1
    assert os.environ[ENV_VAR] == "1"
