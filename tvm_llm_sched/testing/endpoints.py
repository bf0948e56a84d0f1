"""The embedded policy as a live OpenAI-compatible endpoint that the environment points at."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from ..serving import PolicyServer

_ENDPOINT_ENV = ("TVM_LLM_SCHED_BASE_URL", "TVM_LLM_SCHED_MODEL")


@contextlib.contextmanager
def policy_endpoint(model: str = "expert-policy") -> Iterator[PolicyServer]:
    """Serve the expert policy on 127.0.0.1 and point ``TVM_LLM_SCHED_BASE_URL`` and
    ``TVM_LLM_SCHED_MODEL`` at it until the block ends (then both are restored), so
    ``--proposer openai`` and ``LLMGuidedSearch()`` take the real HTTP path.

    Examples
    --------
    >>> with policy_endpoint() as server:  # doctest: +SKIP
    ...     tune_workload("GMM:0", trials=16)
    """
    saved = {name: os.environ.get(name) for name in _ENDPOINT_ENV}
    with PolicyServer(model=model) as server:
        os.environ["TVM_LLM_SCHED_BASE_URL"] = server.base_url
        os.environ["TVM_LLM_SCHED_MODEL"] = model
        try:
            yield server
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
