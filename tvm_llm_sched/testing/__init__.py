"""Test kit: real local servers (OpenAI-compatible, fault-injecting) and helpers for tests."""

from .fault_server import Fault, FaultServer, free_port
from .http_server import BackgroundHTTPServer
from .openai_server import OpenAICompatServer, chat_completion_body, serve_forever

__all__ = [
    "BackgroundHTTPServer",
    "Fault",
    "FaultServer",
    "OpenAICompatServer",
    "chat_completion_body",
    "free_port",
    "serve_forever",
]
