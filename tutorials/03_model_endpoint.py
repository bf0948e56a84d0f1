"""Steer tuning with an OpenAI-compatible model endpoint, recorded, then replayed offline.

Without a model at hand, this starts the project's own policy server (the embedded expert policy
behind an OpenAI-compatible API on 127.0.0.1) and uses it exactly like vLLM, Ollama or a hosted
API: point ``base_url`` at your server instead (or set ``TVM_LLM_SCHED_BASE_URL``,
``TVM_LLM_SCHED_MODEL`` and ``TVM_LLM_SCHED_API_KEY``). Every prompt and reply is recorded; the
same run is then repeated with a replay proposer and no server: recorded requests get their
recorded replies byte for byte; a request that was never recorded (the second run's prompts can
differ from the first's) is a logged miss, and the search falls back to its own moves for that
iteration, so the run still completes.

Run with ``python tutorials/03_model_endpoint.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tvm.s_tir import meta_schedule as ms

from tvm_llm_sched.hardware import host_target
from tvm_llm_sched.proposers import PolicyServer, create
from tvm_llm_sched.search import LLMGuidedSearch
from tvm_llm_sched.tvm_compat import local_builder
from tvm_llm_sched.workloads import load_workload


def tune(proposer, work_dir: str) -> float:
    """Tune GMM:0 for 16 trials with ``proposer``; return the best latency in us."""
    workload = load_workload("GMM:0")
    database = ms.tune_tir(
        workload.mod,
        host_target(),
        work_dir,
        max_trials_global=16,
        num_trials_per_iter=8,
        strategy=LLMGuidedSearch(proposer),
        builder=local_builder(),
        seed=1,
    )
    best = database.get_top_k(database.commit_workload(workload.mod), 1)[0]
    return 1e6 * sum(float(s) for s in best.run_secs) / len(best.run_secs)


def main() -> None:
    """Record a run against the local policy server, then replay it with no server."""
    with tempfile.TemporaryDirectory() as root:
        recordings = Path(root) / "recordings"
        with PolicyServer() as server:
            live = create(
                "openai",
                base_url=server.base_url,
                model="expert-policy",
                api_key="sk-local",
                record_to=str(recordings),
            )
            print(
                f"live:   best {tune(live, str(Path(root) / 'live')):.1f} us, "
                f"{server.request_count} model calls"
            )
        replayed = create("replay", path=str(recordings))
        print(
            f"replay: best {tune(replayed, str(Path(root) / 'replay')):.1f} us, no server "
            "(misses, if any, are logged above)"
        )


if __name__ == "__main__":
    main()
