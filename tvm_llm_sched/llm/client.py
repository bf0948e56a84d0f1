"""An OpenAI-compatible ``/chat/completions`` client with retries, budgets and a size cap.

One synchronous core (:meth:`ChatClient.send`, reached through ``complete``); ``acomplete`` is
inherited from :class:`~tvm_llm_sched.llm.backend.ChatBackend` and runs that core in a thread.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import httpx
import tenacity

from .. import __version__
from ..errors import (
    BudgetExhaustedError,
    EndpointStatusError,
    EndpointTimeoutError,
    EndpointTransportError,
    ReplyParseError,
)
from .backend import ChatBackend, ChatReply, ChatRequest, Usage
from .config import Budget, EndpointConfig, RetryPolicy
from .httpx_errors import redact, translate_httpx_error

logger = logging.getLogger(__name__)

_ERROR_BODY_BYTES = 4096  # enough of an error body to explain it, never the whole thing
_JSON_MODE = {"type": "json_object"}


class ChatClient(ChatBackend):
    """Chat completions over HTTP from an OpenAI-compatible server (vLLM, llama.cpp, OpenAI...).

    Parameters
    ----------
    config : EndpointConfig
        Where the endpoint is and how to call it.
    retry : RetryPolicy | None
        Backoff for connection errors, timeouts, 429 (honouring ``Retry-After``) and 5xx.
        Other 4xx answers and unparsable replies are not retried. ``RetryPolicy()`` by default.
    budget : Budget | None
        Call and token limits (unlimited by default); :class:`BudgetExhaustedError` is raised
        *before* a call that would exceed them.
    max_concurrency : int
        Requests in flight at once across threads (a waiting call blocks).
    max_reply_bytes : int
        Largest reply body accepted; a larger one raises :class:`ReplyParseError` after reading
        at most this many bytes.
    http_client : httpx.Client | None
        Injected client (tests: a local server or ``httpx.MockTransport``); not closed by
        :meth:`close`. By default the client makes and owns one.

    Examples
    --------
    >>> from tvm_llm_sched.serving import OpenAICompatServer
    >>> with OpenAICompatServer(lambda messages, request: "ok") as server:
    ...     cfg = EndpointConfig(base_url=server.base_url, model="m")
    ...     with ChatClient(cfg) as client:
    ...         reply = client.complete([{"role": "user", "content": "hi"}], max_tokens=8)
    >>> reply.text, client.calls
    ('ok', 1)
    """

    def __init__(
        self,
        config: EndpointConfig,
        *,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        max_concurrency: int = 4,
        max_reply_bytes: int = 1 << 20,
        http_client: httpx.Client | None = None,
    ):
        if not isinstance(config, EndpointConfig):
            raise TypeError(f"config must be an EndpointConfig, got {type(config).__name__}")
        for name, value in (
            ("max_concurrency", max_concurrency),
            ("max_reply_bytes", max_reply_bytes),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.config = config
        self.retry = retry or RetryPolicy()
        self.budget = budget or Budget()
        self.max_concurrency = max_concurrency
        self.max_reply_bytes = max_reply_bytes
        self._timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self._timeout, follow_redirects=False)
        self._url = f"{config.base_url}/chat/completions"
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self._calls = 0
        self._usage = Usage()
        self._reserved_tokens = 0
        self._response_format_ok = True
        self._backoff = tenacity.wait_exponential(
            multiplier=self.retry.initial_backoff, max=self.retry.max_backoff
        ) + tenacity.wait_random(0, self.retry.jitter)

    @property
    def model(self) -> str:  # type: ignore[override]
        """The model name sent with every request."""
        return self.config.model

    @property
    def calls(self) -> int:
        """Calls started so far (each counts once however many retries it took)."""
        with self._lock:
            return self._calls

    @property
    def usage(self) -> Usage:
        """Token totals the server reported over all finished calls."""
        with self._lock:
            return self._usage

    def __repr__(self) -> str:
        return (
            f"ChatClient(base_url={self.config.base_url!r}, model={self.config.model!r}, "
            f"max_concurrency={self.max_concurrency})"
        )

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            self._http.close()

    def send(self, request: ChatRequest) -> ChatReply:
        """POST one request and return the reply (callers use :meth:`ChatBackend.complete`).

        Raises
        ------
        BudgetExhaustedError
            The call or token budget does not allow this call; nothing was sent.
        EndpointTransportError, EndpointTimeoutError, EndpointStatusError
            The endpoint failed (after retries where retrying makes sense).
        ReplyParseError
            The reply body is too large, not JSON, or has no string ``message.content``.
        """
        self._reserve(request.max_tokens)
        usage = Usage()
        start = time.monotonic()
        try:
            with self._slots:
                retrying = tenacity.Retrying(
                    stop=tenacity.stop_after_attempt(self.retry.max_attempts),
                    wait=self._wait,
                    retry=tenacity.retry_if_exception(_is_retryable),
                    before_sleep=self._log_retry,
                    reraise=True,
                )
                for attempt in retrying:
                    with attempt:
                        data, formatted = self._attempt(request)
            parsed = _parse_reply(data, what=f"POST {self._url}")
            usage = parsed.usage
        finally:
            self._settle(request.max_tokens, usage)
        reply = ChatReply(
            text=parsed.text,
            usage=usage,
            model=parsed.model or self.model,
            finish_reason=parsed.finish_reason,
            latency_s=time.monotonic() - start,
            attempts=attempt.retry_state.attempt_number,
            formatted=formatted,
        )
        logger.debug(
            "chat reply from %s: %d attempt(s), %.3f s, %d prompt + %d completion tokens, "
            "finish_reason=%s",
            self.config.base_url,
            reply.attempts,
            reply.latency_s,
            usage.prompt_tokens,
            usage.completion_tokens,
            reply.finish_reason,
        )
        return reply

    # -- budget -----------------------------------------------------------------------------

    def _reserve(self, max_tokens: int) -> None:
        """Count the call and hold ``max_tokens`` against the token budget until it settles."""
        with self._lock:
            if self.budget.max_calls is not None and self._calls >= self.budget.max_calls:
                raise BudgetExhaustedError(
                    f"call budget exhausted: {self._calls} of {self.budget.max_calls} calls used"
                )
            committed = self._usage.total_tokens + self._reserved_tokens
            if (
                self.budget.max_tokens is not None
                and committed + max_tokens > self.budget.max_tokens
            ):
                raise BudgetExhaustedError(
                    f"token budget exhausted: {committed} of {self.budget.max_tokens} tokens "
                    f"used or reserved, and this call may use {max_tokens} more"
                )
            self._calls += 1
            self._reserved_tokens += max_tokens

    def _settle(self, reserved: int, usage: Usage) -> None:
        with self._lock:
            self._reserved_tokens -= reserved
            self._usage += usage

    # -- one HTTP attempt -------------------------------------------------------------------

    def _attempt(self, request: ChatRequest) -> tuple[Any, bool]:
        """POST once; if the server refuses ``response_format``, drop it for good and repost.

        Returns the reply's JSON and whether ``response_format`` was sent with it."""
        payload: dict[str, Any] = {
            **self.config.extra_body,
            "model": request.model,
            "messages": [dict(m) for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        response_format = request.response_format or (_JSON_MODE if self.config.json_mode else None)
        if response_format is not None and self._response_format_ok:
            payload["response_format"] = dict(response_format)
        try:
            return self._post(payload), "response_format" in payload
        except EndpointStatusError as exc:
            if not ("response_format" in payload and _refuses_format(exc)):
                raise
            self._response_format_ok = False
            logger.warning(
                "%s rejected response_format %r (%s); sending plain requests from now on",
                self.config.base_url,
                payload["response_format"].get("type"),
                exc,
            )
            del payload["response_format"]
            return self._post(payload), False

    def _post(self, payload: dict[str, Any]) -> Any:
        """One POST; every ``httpx`` error is translated here and nowhere else."""
        what = f"POST {self._url}"
        secret = self.config.api_key
        headers = {"User-Agent": f"tvm-llm-sched/{__version__}"}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        try:
            with self._http.stream(
                "POST", self._url, json=payload, headers=headers, timeout=self._timeout
            ) as response:
                if not response.is_success:
                    snippet = _read_limited(response, _ERROR_BODY_BYTES, what=what, truncate=True)
                    raise EndpointStatusError(
                        redact(
                            f"{what}: HTTP {response.status_code}: "
                            f"{snippet.decode('utf-8', 'replace').strip()}",
                            secret,
                        ),
                        status_code=response.status_code,
                        retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    )
                body = _read_limited(response, self.max_reply_bytes, what=what, truncate=False)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise translate_httpx_error(exc, what=what, secret=secret) from exc
        try:
            return json.loads(body)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise ReplyParseError(f"{what}: reply body is not JSON ({exc})") from exc

    # -- retry plumbing ---------------------------------------------------------------------

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, EndpointStatusError) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry.max_retry_after)
        return self._backoff(state)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "attempt %d/%d failed (%s); retrying in %.2f s",
            state.attempt_number,
            self.retry.max_attempts,
            exc,
            delay,
        )


def _refuses_format(exc: EndpointStatusError) -> bool:
    """Whether an error answer says the server does not take ``response_format`` (a 400, or a
    422 from FastAPI-based servers, naming the field or its ``json_schema`` type)."""
    message = str(exc).lower()
    return exc.status_code in (400, 422) and any(
        word in message for word in ("response_format", "json_schema")
    )


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, EndpointTransportError | EndpointTimeoutError):
        return True
    return isinstance(exc, EndpointStatusError) and (
        exc.status_code == 429 or exc.status_code >= 500
    )


def _read_limited(response: httpx.Response, limit: int, *, what: str, truncate: bool) -> bytes:
    """Read at most ``limit`` bytes of the (decoded) body; past that truncate or raise."""
    declared = response.headers.get("Content-Length", "")
    if not truncate and declared.isdigit() and int(declared) > limit:
        raise ReplyParseError(
            f"{what}: reply is {int(declared)} bytes, over the {limit}-byte limit"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            if truncate:
                break
            raise ReplyParseError(f"{what}: reply is over the {limit}-byte limit")
    return b"".join(chunks)[:limit]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Examples
    --------
    >>> parse_retry_after("2")
    2.0
    >>> parse_retry_after("soon") is None
    True
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), 1e9)


def _token_count(usage: Mapping[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _parse_reply(data: Any, *, what: str) -> ChatReply:
    """Pull text, usage, model and finish reason out of an OpenAI response body."""
    if not isinstance(data, dict):
        raise ReplyParseError(f"{what}: reply body is a JSON {type(data).__name__}, not an object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ReplyParseError(f"{what}: reply has no choices")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message")
    finish_reason = choice.get("finish_reason")
    finish_reason = finish_reason if isinstance(finish_reason, str) else None
    content = message.get("content") if isinstance(message, dict) else None
    if content is None:
        raise ReplyParseError(
            f"{what}: reply choices[0].message has no content (finish_reason={finish_reason})"
        )
    if not isinstance(content, str):
        raise ReplyParseError(
            f"{what}: reply content is a JSON {type(content).__name__}, not a string"
        )
    raw_usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    prompt = _token_count(raw_usage, "prompt_tokens")
    completion = _token_count(raw_usage, "completion_tokens")
    total = _token_count(raw_usage, "total_tokens") or prompt + completion
    model = data.get("model")
    return ChatReply(
        text=content,
        usage=Usage(prompt, completion, total),
        model=model if isinstance(model, str) else "",
        finish_reason=finish_reason,
    )
