"""Strategy variants for A/B benchmarks of one search rule, as ``module:callable`` specs.

``tvm-llm-sched bench --strategies llm,tvm_llm_sched.bench.variants:llm_no_widening`` runs the
default search and the same search without the rule side by side, interleaved, in one matrix.
"""

from __future__ import annotations

from typing import Any


def llm_no_widening() -> Any:
    """LLMGuidedSearch with the expert policy that never widens after a stall
    (``SearchConfig.stall_patience=0``: the search before the stall rule)."""
    from ..search import LLMGuidedSearch, SearchConfig

    return LLMGuidedSearch(config=SearchConfig(stall_patience=0))


def llm_adaptive_share() -> Any:
    """LLMGuidedSearch whose proposer share follows its measured hit rate
    (``SearchConfig.adaptive_share=True``)."""
    from ..search import LLMGuidedSearch, SearchConfig

    return LLMGuidedSearch(config=SearchConfig(adaptive_share=True))
