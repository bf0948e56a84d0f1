"""Shared fixtures for the llm transport tests: fast retry policies and client factories."""

from __future__ import annotations

import pytest

from tvm_llm_sched.llm import ChatClient, EndpointConfig, RetryPolicy

_SECRET = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture
def secret() -> str:
    """The API key every test client sends; it must never show up anywhere."""
    return _SECRET


@pytest.fixture
def messages() -> list[dict[str, str]]:
    """A small system + user conversation."""
    return [
        {"role": "system", "content": "You schedule tensor programs."},
        {"role": "user", "content": "Propose one step."},
    ]


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Three attempts with millisecond backoffs, so retry tests stay fast."""
    return RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02, jitter=0.005)


@pytest.fixture
def make_client(fast_retry):
    """Build ChatClients against a base URL; every client is closed after the test."""
    clients: list[ChatClient] = []

    def make(
        base_url: str,
        *,
        api_key: str | None = _SECRET,
        read_timeout: float = 5.0,
        json_mode: bool = False,
        **kwargs,
    ) -> ChatClient:
        kwargs.setdefault("retry", fast_retry)
        config = EndpointConfig(
            base_url=base_url,
            model="test-model",
            api_key=api_key,
            connect_timeout=2.0,
            read_timeout=read_timeout,
            json_mode=json_mode,
        )
        client = ChatClient(config, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
