"""Tuning curves of search strategies: ``python python/bench_tuning.py --workloads GMM:1 ...``.

Takes the same options as ``tvm-llm-sched bench`` (see ``--help``) and runs the same code.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from tvm_llm_sched.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["bench", *sys.argv[1:]], prog_name="bench_tuning.py")
