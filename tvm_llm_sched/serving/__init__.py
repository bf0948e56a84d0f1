"""Local HTTP serving: a small OpenAI-compatible server, and a proposer served behind it.

:class:`OpenAICompatServer` answers ``POST /v1/chat/completions`` and ``GET /v1/models`` from a
Python callable on a background thread (loopback by default); :class:`PolicyServer` puts a proposer
(the embedded expert policy by default) behind it, which is what ``tvm-llm-sched serve-policy``
runs. Tests use the same servers through :mod:`tvm_llm_sched.testing`.
"""

from .http_server import BackgroundHTTPServer, RequestHandler
from .openai_server import OpenAICompatServer, chat_completion_body, serve_forever
from .policy_server import PolicyServer, policy_responder

__all__ = [
    "BackgroundHTTPServer",
    "OpenAICompatServer",
    "PolicyServer",
    "RequestHandler",
    "chat_completion_body",
    "policy_responder",
    "serve_forever",
]
