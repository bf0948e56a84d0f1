"""LLMGuidedSearch (a MetaSchedule search strategy) and LLMMutatorProbability."""

from .config import SearchConfig
from .engine import Candidate, Frontier, History, SearchEngine
from .llm_guided import LLMGuidedSearch
from .mutator_probability import LLMMutatorProbability, MutatorStats, success_rate_weights

__all__ = [
    "Candidate",
    "Frontier",
    "History",
    "LLMGuidedSearch",
    "LLMMutatorProbability",
    "MutatorStats",
    "SearchConfig",
    "SearchEngine",
    "success_rate_weights",
]
