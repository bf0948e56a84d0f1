"""Steer tuning with an OpenAI-compatible model endpoint, record the run, then replay it offline.

Without a model at hand, this starts the project's own policy server (the embedded expert policy
behind an OpenAI-compatible API on 127.0.0.1) and uses it exactly like vLLM, Ollama or a hosted
API: point ``TVM_LLM_SCHED_BASE_URL``, ``TVM_LLM_SCHED_MODEL`` and ``TVM_LLM_SCHED_API_KEY`` at
your server instead (or build the proposer with ``create("openai", base_url=..., model=...)``).

The live run is recorded: its settings, every measurement, every prompt and reply. The replay then
runs with no server, no compiler work and no timing: the model's side comes from the recorded
exchanges and the machine's side from the recorded measurements, so the search takes the same path
and writes the same tuning records. It reports how many candidates it served from the recording
and how many it missed (0 for a faithful replay).

Run with ``python tutorials/03_model_endpoint.py``.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path
from unittest import mock

from tvm_llm_sched.serving import PolicyServer
from tvm_llm_sched.tune import tune_workload


def main() -> None:
    """Record a run against the local policy server, then replay it with no server."""
    with tempfile.TemporaryDirectory() as root:
        recording = Path(root) / "recording"
        with (
            PolicyServer(model="expert-policy") as server,
            mock.patch.dict(
                os.environ,
                {"TVM_LLM_SCHED_BASE_URL": server.base_url, "TVM_LLM_SCHED_MODEL": "expert-policy"},
            ),
        ):
            live = tune_workload(
                "GMM:0",
                trials=16,
                num_trials_per_iter=8,
                work_dir=Path(root) / "live",
                record_to=recording,
                progress=False,
            )
            calls = server.request_count
        print(
            f"live:   best {live.best_latency_us:.1f} us, {calls} model calls, {live.wall_s:.0f} s"
        )

        replay = tune_workload(
            replay_from=recording, work_dir=Path(root) / "replay", progress=False
        )
        live_lines, replay_lines = (
            (Path(root) / run / "database_tuning_record.json").read_text().splitlines()
            for run in ("live", "replay")
        )
        same = live_lines == replay_lines
        print(
            f"replay: best {replay.best_latency_us:.1f} us, no server, {replay.wall_s:.0f} s, "
            f"{replay.replay_served} served, {replay.replay_misses} missed, "
            f"identical records: {same}"
        )
        if not same:
            # Say how they differ: order only, or from which record on.
            pairs = itertools.zip_longest(live_lines, replay_lines, fillvalue="")
            first = next(i for i, (a, b) in enumerate(pairs) if a != b)
            print(
                f"  {len(live_lines)} live vs {len(replay_lines)} replayed records, same set: "
                f"{sorted(live_lines) == sorted(replay_lines)}, first difference at record {first}"
            )
            for name, lines in (("live", live_lines), ("replay", replay_lines)):
                print(f"  {name}: {lines[first] if first < len(lines) else '(none)'}")


if __name__ == "__main__":
    main()
