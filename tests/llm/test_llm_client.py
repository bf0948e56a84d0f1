"""ChatClient against real local servers: retries, errors, size cap, budgets, concurrency."""

from __future__ import annotations

import asyncio
import logging
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx
import pytest

from tvm_llm_sched.errors import (
    BudgetExhaustedError,
    EndpointStatusError,
    EndpointTimeoutError,
    EndpointTransportError,
    ReplyParseError,
)
from tvm_llm_sched.llm import (
    Budget,
    ChatClient,
    EndpointConfig,
    RetryPolicy,
    Usage,
    parse_retry_after,
)
from tvm_llm_sched.testing import Fault, FaultServer, OpenAICompatServer, free_port


def test_reply_fields_from_openai_compatible_server(make_client, messages):
    seen = []

    def respond(msgs, request):
        seen.append((msgs, request))
        return "tile l0 by 8"

    with OpenAICompatServer(respond) as server:
        reply = make_client(server.base_url).complete(messages, max_tokens=32, temperature=0.5)
    assert reply.text == "tile l0 by 8"
    assert reply.model == "test-model" and reply.finish_reason == "stop"
    assert reply.attempts == 1 and reply.latency_s > 0
    assert reply.usage.completion_tokens == 3
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 3
    ((msgs, request),) = seen
    assert msgs == messages
    assert request["max_tokens"] == 32 and request["temperature"] == 0.5


def test_500_then_success_is_retried(make_client, messages):
    with FaultServer([Fault.status(500), Fault.ok("fine")]) as server:
        reply = make_client(server.base_url).complete(messages, max_tokens=8)
    assert reply.text == "fine" and reply.attempts == 2
    assert server.request_count == 2


def test_persistent_503_gives_status_error_after_all_attempts(make_client, messages):
    with FaultServer([Fault.status(503)]) as server:
        with pytest.raises(EndpointStatusError) as info:
            make_client(server.base_url).complete(messages, max_tokens=8)
    assert info.value.status_code == 503
    assert server.request_count == 3
    assert "HTTP 503" in str(info.value) and "scripted HTTP 503" in str(info.value)


def test_429_retry_after_is_honoured(make_client, messages):
    with FaultServer([Fault.status(429, retry_after=0.4), Fault.ok("after wait")]) as server:
        client = make_client(server.base_url)
        start = time.monotonic()
        reply = client.complete(messages, max_tokens=8)
        waited = time.monotonic() - start
    assert reply.text == "after wait" and reply.attempts == 2
    assert 0.4 <= waited < 1.5  # the backoff alone would be ~0.01 s


def test_429_retry_after_is_capped(make_client, messages):
    retry = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.01, max_retry_after=0.1)
    with FaultServer([Fault.status(429, retry_after=30), Fault.ok()]) as server:
        start = time.monotonic()
        make_client(server.base_url, retry=retry).complete(messages, max_tokens=8)
    assert time.monotonic() - start < 1.0


def test_parse_retry_after_seconds_and_http_date():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("-5") == 0.0
    for bad in (None, "", "soon", "nan"):
        assert parse_retry_after(bad) is None


def test_http_date_retry_after_from_server_is_used(make_client, messages):
    past = "Wed, 01 Jan 2020 00:00:00 GMT"  # already due: retry at once, not after a backoff
    retry = RetryPolicy(max_attempts=2, initial_backoff=5.0, max_backoff=5.0, jitter=0.0)
    with FaultServer([Fault.status(429, retry_after=past), Fault.ok()]) as server:
        start = time.monotonic()
        make_client(server.base_url, retry=retry).complete(messages, max_tokens=8)
    assert time.monotonic() - start < 2.0


def test_connection_refused_is_transport_error_after_retries(make_client, messages, caplog):
    client = make_client(f"http://127.0.0.1:{free_port()}/v1")
    with caplog.at_level(logging.WARNING, logger="tvm_llm_sched.llm"):
        with pytest.raises(EndpointTransportError) as info:
            client.complete(messages, max_tokens=8)
    assert "ConnectError" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 2  # three attempts


def test_read_timeout_is_timeout_error(make_client, messages):
    with FaultServer([Fault.delay(3.0)]) as server:
        client = make_client(server.base_url, read_timeout=0.2)
        start = time.monotonic()
        with pytest.raises(EndpointTimeoutError) as info:
            client.complete(messages, max_tokens=8)
        elapsed = time.monotonic() - start
    assert "ReadTimeout" in str(info.value)
    assert server.request_count == 3 and elapsed < 2.0


def test_closed_connection_is_retried_then_succeeds(make_client, messages):
    with FaultServer([Fault.close_connection(), Fault.ok("second try")]) as server:
        reply = make_client(server.base_url).complete(messages, max_tokens=8)
    assert reply.text == "second try" and server.request_count == 2


def test_always_closed_connection_is_transport_error(make_client, messages):
    with FaultServer([Fault.close_connection()]) as server:
        with pytest.raises(EndpointTransportError):
            make_client(server.base_url).complete(messages, max_tokens=8)


@pytest.mark.parametrize(
    ("fault", "needle"),
    [
        (Fault.malformed_json(), "not JSON"),
        (Fault.empty_choices(), "no choices"),
        (Fault.no_content(), "no content"),
        (Fault.non_string_content(), "not a string"),
    ],
)
def test_unparsable_replies_are_reply_parse_errors_and_not_retried(
    make_client, messages, fault, needle
):
    with FaultServer([fault, Fault.ok()]) as server:
        with pytest.raises(ReplyParseError, match=needle):
            make_client(server.base_url).complete(messages, max_tokens=8)
    assert server.request_count == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_2mb_reply_is_a_clean_parse_error(make_client, messages, chunked):
    with FaultServer([Fault.huge(bytes=2_000_000, chunked=chunked)]) as server:
        with pytest.raises(ReplyParseError, match="1048576-byte limit"):
            make_client(server.base_url).complete(messages, max_tokens=8)
    assert server.request_count == 1


def test_oversized_reply_is_not_held_in_memory(make_client, messages):
    with FaultServer([Fault.huge(bytes=30_000_000, chunked=True)]) as server:
        client = make_client(server.base_url, max_reply_bytes=100_000)
        tracemalloc.start()
        try:
            with pytest.raises(ReplyParseError):
                client.complete(messages, max_tokens=8)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 5_000_000  # reading it all would take 30 MB


def test_400_is_not_retried(make_client, messages):
    with FaultServer([Fault.status(400, message="bad request"), Fault.ok()]) as server:
        with pytest.raises(EndpointStatusError) as info:
            make_client(server.base_url).complete(messages, max_tokens=8)
    assert info.value.status_code == 400 and "bad request" in str(info.value)
    assert server.request_count == 1


def test_call_budget(make_client, messages):
    with FaultServer([Fault.ok()]) as server:
        client = make_client(server.base_url, budget=Budget(max_calls=2))
        client.complete(messages, max_tokens=8)
        client.complete(messages, max_tokens=8)
        with pytest.raises(BudgetExhaustedError, match="2 of 2 calls"):
            client.complete(messages, max_tokens=8)
    assert server.request_count == 2 and client.calls == 2


def test_token_budget_refuses_a_call_that_could_exceed_it(make_client, messages):
    # every reply costs 40 + 20 = 60 tokens; each call may add up to max_tokens=30
    with FaultServer([Fault.ok(prompt_tokens=40, completion_tokens=20)]) as server:
        client = make_client(server.base_url, budget=Budget(max_tokens=150))
        for _ in range(3):  # 0+30, 60+30, 120+30 <= 150
            client.complete(messages, max_tokens=30)
        with pytest.raises(BudgetExhaustedError, match="token budget"):
            client.complete(messages, max_tokens=30)
    assert client.usage == Usage(120, 60, 180)
    assert server.request_count == 3


def test_failed_call_releases_its_token_reservation(make_client, messages):
    with FaultServer([Fault.status(400), Fault.ok(prompt_tokens=5, completion_tokens=5)]) as server:
        client = make_client(server.base_url, budget=Budget(max_tokens=40))
        with pytest.raises(EndpointStatusError):
            client.complete(messages, max_tokens=30)
        assert client.complete(messages, max_tokens=30).text == "ok"
    assert client.usage == Usage(5, 5, 10) and client.calls == 2


def test_concurrency_limit_is_honoured_across_threads(make_client, messages):
    with FaultServer([Fault.delay(0.25, then=Fault.ok())]) as server:
        client = make_client(server.base_url, max_concurrency=2)
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            replies = list(pool.map(lambda _: client.complete(messages, max_tokens=8), range(6)))
        elapsed = time.monotonic() - start
    assert [r.text for r in replies] == ["ok"] * 6
    assert server.max_in_flight == 2  # never more, and the limit was reached
    assert elapsed >= 0.7  # three waves of two


def test_async_acomplete_shares_the_limit(make_client, messages):
    with FaultServer([Fault.delay(0.2, then=Fault.ok("async"))]) as server:
        client = make_client(server.base_url, max_concurrency=2)

        async def main():
            calls = [client.acomplete(messages, max_tokens=8) for _ in range(4)]
            return await asyncio.gather(*calls)

        replies = asyncio.run(main())
    assert [r.text for r in replies] == ["async"] * 4
    assert server.max_in_flight == 2 and client.calls == 4


def test_json_mode_is_sent_when_configured(make_client, messages):
    with OpenAICompatServer(lambda msgs, request: '{"step": "tile"}') as server:
        make_client(server.base_url, json_mode=True).complete(messages, max_tokens=8)
        make_client(server.base_url).complete(
            messages, max_tokens=8, response_format={"type": "json_object"}
        )
        make_client(server.base_url).complete(messages, max_tokens=8)
    formats = [request.get("response_format") for request in server.requests]
    assert formats == [{"type": "json_object"}, {"type": "json_object"}, None]


def test_json_mode_falls_back_once_when_rejected(make_client, messages, caplog):
    respond = lambda msgs, request: "plain"  # noqa: E731
    with OpenAICompatServer(respond, supports_json_mode=False) as server:
        client = make_client(server.base_url, json_mode=True)
        with caplog.at_level(logging.WARNING, logger="tvm_llm_sched.llm"):
            first = client.complete(messages, max_tokens=8)
            second = client.complete(messages, max_tokens=8)
    assert first.text == second.text == "plain"
    sent = ["response_format" in request for request in server.requests]
    assert sent == [True, False, False]  # rejected once, then remembered
    assert sum("rejected response_format" in r.getMessage() for r in caplog.records) == 1


def test_extra_body_is_merged_but_cannot_override_core_fields(messages):
    with OpenAICompatServer(lambda msgs, request: "ok") as server:
        config = EndpointConfig(
            base_url=server.base_url, model="real", extra_body={"seed": 7, "model": "other"}
        )
        with ChatClient(config) as client:
            client.complete(messages, max_tokens=8)
    (request,) = server.requests
    assert request["seed"] == 7 and request["model"] == "real"


def test_injected_mock_transport_client_is_used_and_not_closed(messages):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/completions"
        body = {"choices": [{"message": {"content": "mocked"}, "finish_reason": "stop"}]}
        return httpx.Response(200, json=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    config = EndpointConfig(base_url="http://model.invalid/v1", model="m")
    with ChatClient(config, http_client=http) as client:
        reply = client.complete(messages, max_tokens=8)
    assert reply.text == "mocked" and reply.usage == Usage() and reply.model == "m"
    assert not http.is_closed
    http.close()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"messages": []}, ValueError),
        ({"messages": "hello"}, TypeError),
        ({"messages": [{"content": "no role"}]}, ValueError),
        ({"messages": [{"role": "user", "content": object()}]}, TypeError),
        ({"max_tokens": 0}, ValueError),
        ({"temperature": -1.0}, ValueError),
        ({"temperature": float("nan")}, ValueError),
        ({"response_format": "json"}, TypeError),
    ],
)
def test_bad_arguments_raise_before_any_request(make_client, messages, kwargs, error):
    call = {"messages": messages, "max_tokens": 8, **kwargs}
    with FaultServer([Fault.ok()]) as server:
        with pytest.raises(error):
            make_client(server.base_url).complete(call.pop("messages"), **call)
    assert server.request_count == 0


def test_constructor_validation():
    config = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="m")
    with pytest.raises(TypeError):
        ChatClient({"base_url": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_concurrency"):
        ChatClient(config, max_concurrency=0)
    with pytest.raises(ValueError, match="max_reply_bytes"):
        ChatClient(config, max_reply_bytes=-1)
