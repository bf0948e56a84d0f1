"""How many threads TVM's CPU runtime runs a parallel loop on.

Without ``TVM_NUM_THREADS``, TVM's runtime uses half the logical CPUs on x86, assuming every core
has two hyper-threads. On a machine without SMT (most cloud VMs count one vCPU per core) tuned
programs then run on half the cores that the target's ``num-cores`` and the fp32 peak count, and a
schedule's parallel loops are timed serially. :func:`use_target_cores` sets the variable before
the runtime starts its thread pool; every entry point of this package calls it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .target import physical_cores

logger = logging.getLogger("tvm_llm_sched.hardware")

ENV_VAR = "TVM_NUM_THREADS"


def use_target_cores(target: Any = None) -> int:
    """Make TVM's CPU runtime (this process and the runner processes it starts later) use one
    thread per core of ``target``, unless the user chose a count; returns the count in effect.

    Parameters
    ----------
    target : tvm.target.Target, optional
        Its ``num-cores`` is the thread count; default (or no ``num-cores``): the physical cores.

    Notes
    -----
    ``TVM_NUM_THREADS`` set by the user wins. The runtime of a process reads it once, when it
    starts its thread pool: a process that already ran a parallel TVM function keeps its pool
    (logged as a warning), but runner workers spawned afterwards use the new count.

    Examples
    --------
    >>> use_target_cores() >= 1
    True
    """
    chosen = os.environ.get(ENV_VAR)
    if chosen:
        try:
            return max(1, int(chosen))
        except ValueError:
            logger.warning("ignoring %s=%r: not an integer", ENV_VAR, chosen)
    cores = target.attrs.get("num-cores") if target is not None else None
    count = max(1, int(cores or physical_cores()))
    os.environ[ENV_VAR] = str(count)
    import tvm

    running = int(tvm.runtime.num_threads())
    if running != count:
        logger.warning(
            "TVM's runtime in this process already runs %d thread(s); %s=%d applies to runner "
            "processes started from now on",
            running,
            ENV_VAR,
            count,
        )
    return count
