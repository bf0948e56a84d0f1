"""A real language model in the loop: SmolLM2-135M-Instruct served by llama.cpp on 127.0.0.1.

Constrained decoding makes every reply parse and every step apply whatever the model is; these
tests hold the product to that, on real TVM, through the same code a user runs.
"""

from __future__ import annotations

import ast
import ctypes
import logging
import os
import platform
import signal
import subprocess
import sys

import httpx
import pytest

from tvm_llm_sched.proposers import create
from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.serving import local_model as lm
from tvm_llm_sched.testing import strategy_conformance as kit
from tvm_llm_sched.workloads import load_workload

pytestmark = pytest.mark.usefixtures("local_model")
_MAIN = "import sys; from tvm_llm_sched.cli import main; sys.argv[0] = 'tvm-llm-sched'; main()"


def test_one_constrained_call_names_menu_steps(tmp_path):
    """The proposer asks the real model once: the reply parses and names only menu steps."""
    from tvm_llm_sched.search.chain import validator_for
    from tvm_llm_sched.search.situation import build_situation
    from tvm_llm_sched.steps import State

    state = State.initial(load_workload("GMM:0").mod)
    situation = build_situation(state, workload="GMM:0", menu_limit=12)
    with create("local", threads=2) as proposer:
        proposal = proposer.propose(situation, k=3, validate=validator_for(state))
        stats = proposer.stats.to_json()
    menu = {s.to_text() for s in situation.menu}
    assert proposal.error is None and proposal.steps
    assert {s.step.to_text() for s in proposal.steps} <= menu
    assert stats["parse_rate"] == 1.0 and stats["apply_rate"] == 1.0
    assert stats["formatted_calls"] == stats["calls"] == 1
    assert stats["prompt_tokens"] > 100  # the server's own tokenizer counted the prompt


def test_tune_through_the_local_model(tmp_path, caplog):
    """``LLMGuidedSearch("local")`` under ``ms.tune_tir``: the model is asked, every reply
    parsed, every proposed step applied, the work dir is sound, and the server stops after."""
    caplog.set_level(logging.INFO, logger="tvm_llm_sched")
    mod = load_workload("GMM:0").mod
    strategy = LLMGuidedSearch("local")
    kit.tune(mod, tmp_path, strategy, max_trials=16, num_trials_per_iter=8)
    kit.check_work_dir(tmp_path, mod, expected=16)
    stats = [
        ast.literal_eval(r.getMessage().split("model proposer calls: ", 1)[1])
        for r in caplog.records
        if "model proposer calls:" in r.getMessage()
    ]
    assert stats, "the search never reported its model calls"
    calls = stats[-1]
    assert calls["calls"] >= 2 and calls["failed_calls"] == 0
    assert calls["parse_rate"] == 1.0 and calls["apply_rate"] == 1.0
    assert calls["formatted_calls"] == calls["calls"]
    assert not lm._leases, "the local model server outlived the tuning run"


def test_missing_extra_and_missing_model_are_clear_errors(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import fails as if not installed
    with pytest.raises(lm.LocalModelError, match="local-llm"):
        lm.LocalModelServer().start()
    monkeypatch.delitem(sys.modules, "xllamacpp")
    with pytest.raises(lm.LocalModelError, match="no model file"):
        lm.LocalModelServer(lm.LocalModelSettings(gguf=str(tmp_path / "none.gguf"))).start()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    with pytest.raises(lm.LocalModelError, match="cannot serve"):
        lm.LocalModelServer(lm.LocalModelSettings(gguf=str(broken), threads=1)).start()


def test_leases_share_one_server():
    settings = lm.LocalModelSettings(threads=1, seed=7)
    first, second = lm.lease_server(settings), lm.lease_server(settings)
    assert first.server is second.server and first.server.running
    first.release()
    first.release()  # a second release of one lease is a no-op
    assert second.server.running
    second.release()
    assert not second.server.running and settings not in lm._leases


_TGKILL = {"x86_64": 234, "aarch64": 131}.get(platform.machine())


def _interrupt_a_server_thread(pid: int) -> None:
    """Ctrl-C as the kernel may deliver it: to one of the process's other (llama.cpp) threads."""
    tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    assert tids, "the server runs no thread of its own"
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(_TGKILL, pid, tids[-1], signal.SIGINT) == 0, ctypes.get_errno()


@pytest.mark.parametrize("receiver", ["process", "server thread"])
def test_serve_model_command(tmp_path, receiver):
    """``tvm-llm-sched serve-model`` serves chat completions on 127.0.0.1 until interrupted, and
    stops cleanly whichever of its threads the interrupt reaches (one that reached a llama.cpp
    thread used to leave the command waiting for good)."""
    import threading

    from tvm_llm_sched.testing import free_port

    if receiver == "server thread" and (_TGKILL is None or not os.path.isdir("/proc/self/task")):
        pytest.skip("thread-directed signals are sent with Linux's tgkill")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _MAIN, "serve-model", "--port", str(port), "--threads", "1"],
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C's default disposition, whatever the test process inherited or set.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    serving = threading.Event()

    def read_stderr() -> None:
        for line in proc.stderr:
            lines.append(line)
            if "serving " in line:
                serving.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        # Wait for the command's own readiness line, not just /health: Ctrl-C sent while the
        # command is still inside its start-up is a different test.
        assert serving.wait(timeout=180), "".join(lines)
        url = f"http://127.0.0.1:{port}"
        body = {"messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 4}
        reply = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60).json()
        assert reply["usage"]["completion_tokens"] >= 1
        if receiver == "process":
            proc.send_signal(signal.SIGINT)  # Ctrl-C
        else:
            _interrupt_a_server_thread(proc.pid)
        assert proc.wait(timeout=60) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=10)
    err = "".join(lines)
    assert "serving SmolLM2-135M-Instruct.Q4_1 at" in err
