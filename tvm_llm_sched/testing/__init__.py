"""Test kit: real local servers (OpenAI-compatible, fault-injecting), the search-strategy
conformance suite, tensor programs outside te_workload (:mod:`.programs`), and helpers for
tests."""

from ..serving import BackgroundHTTPServer, OpenAICompatServer, chat_completion_body, serve_forever
from .endpoints import policy_endpoint
from .fault_server import Fault, FaultServer, free_port
from .strategy_conformance import (
    ConformanceConfig,
    HandTuner,
    StrategyConformance,
    StrategySituations,
)

__all__ = [
    "BackgroundHTTPServer",
    "ConformanceConfig",
    "Fault",
    "FaultServer",
    "HandTuner",
    "OpenAICompatServer",
    "StrategyConformance",
    "StrategySituations",
    "chat_completion_body",
    "free_port",
    "policy_endpoint",
    "serve_forever",
]
