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


def llm_local() -> Any:
    """LLMGuidedSearch with a model served on this machine (``create("local")``: the bundled
    SmolLM2-135M-Instruct, compact prompt, constrained decoding)."""
    from ..search import LLMGuidedSearch

    return LLMGuidedSearch("local")


def llm_local_unconstrained() -> Any:
    """The same local model asked as a remote endpoint was before constrained decoding: the
    full prompt, a free-text reply parsed afterwards, one repair turn."""
    from ..proposers import create
    from ..proposers.llm import LLMProposerConfig
    from ..search import LLMGuidedSearch

    return LLMGuidedSearch(create("local", config=LLMProposerConfig(profile="full")))


def llm_local_mutator_advice() -> Any:
    """:func:`llm_local` that also asks the model for mutator weights."""
    import dataclasses

    from ..proposers import create
    from ..proposers.factory import LOCAL_MODEL_CONFIG
    from ..proposers.llm import LLMProposerConfig
    from ..search import LLMGuidedSearch

    config = dataclasses.replace(LLMProposerConfig(**LOCAL_MODEL_CONFIG), mutator_advice=True)
    return LLMGuidedSearch(create("local", config=config))


def llm_random_local_budget() -> Any:
    """The random control of a local model: a uniform pick from the compact profile's menu with
    the local model's call budget (:meth:`SearchConfig.for_local_model`)."""
    from ..proposers import create
    from ..proposers.prompts import PROMPT_PROFILES
    from ..search import LLMGuidedSearch, SearchConfig

    menu = PROMPT_PROFILES["compact"].menu_limit
    return LLMGuidedSearch(
        create("random", seed=0), config=SearchConfig.for_local_model(menu_limit=menu)
    )
