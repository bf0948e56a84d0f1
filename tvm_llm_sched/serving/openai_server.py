"""A small, real OpenAI-compatible HTTP server whose answers come from a Python callable.

Used by tests (no internet, no mocks of the HTTP layer) and, wrapped around the embedded expert
policy, by ``tvm-llm-sched serve-policy``. Implements ``POST /v1/chat/completions`` and
``GET /v1/models``.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .http_server import BackgroundHTTPServer, RequestHandler, error_body

logger = logging.getLogger(__name__)

Responder = Callable[[list[dict[str, Any]], dict[str, Any]], "str | dict[str, Any]"]

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters a token), for the ``usage`` of served replies."""
    return math.ceil(len(text) / 4)


def chat_completion_body(
    text: Any,
    *,
    model: str,
    prompt_tokens: int,
    completion_tokens: int | None = None,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` response body with one choice.

    Parameters
    ----------
    text : Any
        ``choices[0].message.content`` (normally a str; tests pass other JSON values).
    model : str
        The answering model's name.
    prompt_tokens : int
        Reported prompt tokens.
    completion_tokens : int | None
        Reported completion tokens; estimated from ``text`` when ``None``.
    finish_reason : str
        ``choices[0].finish_reason``.
    """
    if completion_tokens is None:
        completion_tokens = estimate_tokens(text) if isinstance(text, str) else 0
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _validate_chat_request(request: Any) -> tuple[str, str | None] | None:
    """``(message, param)`` describing what is wrong with a chat request body, or ``None``."""
    if not isinstance(request, dict):
        return "the request body must be a JSON object", None
    if not isinstance(request.get("model"), str) or not request["model"]:
        return "'model' must be a non-empty string", "model"
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array", "messages"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return f"messages[{index}] must be an object with a string 'role'", "messages"
        if not isinstance(message.get("content"), str | list | None):
            return f"messages[{index}].content must be a string or an array", "messages"
    max_tokens = request.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        return "'max_tokens' must be a positive integer", "max_tokens"
    temperature = request.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        return "'temperature' must be a number", "temperature"
    if not isinstance(request.get("response_format"), Mapping | None):
        return "'response_format' must be an object", "response_format"
    return None


class OpenAICompatServer(BackgroundHTTPServer):
    """An OpenAI-compatible chat server on 127.0.0.1 answering through ``respond``.

    Parameters
    ----------
    respond : Callable[[list[dict], dict], str | dict]
        Called with ``(messages, request_body)`` for each valid chat request. A ``str`` becomes
        ``choices[0].message.content`` (usage estimated); a ``dict`` is sent verbatim as the
        whole response body. An exception becomes an HTTP 500 with an OpenAI error body.
    host : str
        Interface to bind (loopback by default).
    port : int
        Port, 0 for any free one.
    model : str
        The name listed by ``GET /v1/models`` and reported when a request names none.
    supports_json_mode : bool
        When ``False``, requests with ``response_format`` get a 400 naming it (as some servers
        do), which lets tests exercise a client's fallback.

    Examples
    --------
    >>> import httpx
    >>> with OpenAICompatServer(lambda messages, request: messages[-1]["content"].upper()) as s:
    ...     body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    ...     httpx.post(s.base_url + "/chat/completions", json=body).json()["choices"][0]["message"]
    {'role': 'assistant', 'content': 'HI'}
    """

    def __init__(
        self,
        respond: Responder,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str = "tvm-llm-sched-policy",
        supports_json_mode: bool = True,
    ):
        if not callable(respond):
            raise TypeError("respond must be a callable (messages, request) -> str | dict")
        super().__init__(host=host, port=port)
        self.respond = respond
        self.model = model
        self.supports_json_mode = supports_json_mode

    def handle(self, handler: RequestHandler) -> None:
        """Route ``GET /v1/models`` and ``POST /v1/chat/completions``; 404/405 otherwise."""
        path = handler.path.split("?", 1)[0].rstrip("/")
        if path == MODELS_PATH and handler.command == "GET":
            model = {"id": self.model, "object": "model", "created": 0, "owned_by": "tvm-llm-sched"}
            handler.send_json(200, {"object": "list", "data": [model]})
        elif path == CHAT_PATH and handler.command == "POST":
            self._chat(handler)
        elif path in (MODELS_PATH, CHAT_PATH):
            handler.send_json(405, error_body(f"{handler.command} is not allowed on {path}"))
        else:
            handler.send_json(404, error_body(f"unknown path {path!r}", error_type="not_found"))

    def _chat(self, handler: RequestHandler) -> None:
        try:
            request = self.parse_json_body(handler)
        except ValueError as exc:
            handler.send_json(400, error_body(f"the request body is not valid JSON: {exc}"))
            return
        problem = _validate_chat_request(request)
        if problem is None and not self.supports_json_mode and "response_format" in request:
            problem = "response_format is not supported by this server", "response_format"
        if problem is not None:
            handler.send_json(400, error_body(problem[0], param=problem[1]))
            return
        try:
            answer = self.respond(request["messages"], request)
        except Exception as exc:  # the responder is user code: report it, keep serving
            logger.exception("responder failed")
            body = error_body(f"responder failed: {type(exc).__name__}", error_type="server_error")
            handler.send_json(500, body)
            return
        if isinstance(answer, dict):
            handler.send_json(200, answer)
            return
        prompt = sum(
            estimate_tokens(m["content"])
            for m in request["messages"]
            if isinstance(m["content"], str)
        )
        handler.send_json(
            200,
            chat_completion_body(str(answer), model=request["model"], prompt_tokens=prompt),
        )


def serve_forever(
    respond: Responder,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str = "tvm-llm-sched-policy",
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``respond`` as an OpenAI-compatible endpoint on this thread until Ctrl-C.

    Parameters
    ----------
    respond : Callable[[list[dict], dict], str | dict]
        See :class:`OpenAICompatServer`.
    host, port : str, int
        Where to listen (loopback by default; port 0 picks a free one).
    model : str
        The served model name.
    ready : Callable[[str], None] | None
        Called with the base URL once the socket is bound (e.g. to print it).
    """
    OpenAICompatServer(respond, host=host, port=port, model=model).serve_forever(ready)
