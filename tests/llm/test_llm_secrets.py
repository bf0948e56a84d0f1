"""The API key never appears in logs, exception messages, reprs or recordings."""

from __future__ import annotations

import logging

import pytest

from tvm_llm_sched.errors import EndpointError
from tvm_llm_sched.llm import RecordingChatClient, RecordingStore
from tvm_llm_sched.testing import Fault, FaultServer, OpenAICompatServer, free_port


def _exception_texts(exc: BaseException) -> list[str]:
    texts = []
    while exc is not None:
        texts += [str(exc), repr(exc), repr(exc.args)]
        exc = exc.__cause__ or exc.__context__
    return texts


def test_api_key_absent_everywhere(make_client, messages, secret, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # root logger: ours, httpx, httpcore
    store = RecordingStore(tmp_path)
    failures: list[EndpointError] = []
    script = [
        Fault.status(500),
        Fault.ok("fine"),
        Fault.status(401, echo_auth=True, message="invalid api key"),
        Fault.status(429, retry_after=0.01, echo_auth=True),
    ]
    with FaultServer(script) as server:
        client = RecordingChatClient(make_client(server.base_url), store)
        assert client.complete(messages, max_tokens=8).text == "fine"  # after one retry
        for _ in range(2):  # 401 (not retried), then 429 three times (retried, logged)
            with pytest.raises(EndpointError) as info:
                client.complete(messages, max_tokens=8)
            failures.append(info.value)
    with OpenAICompatServer(lambda msgs, request: "{}", supports_json_mode=False) as server:
        make_client(server.base_url, json_mode=True).complete(messages, max_tokens=8)
    refused = make_client(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(EndpointError) as info:
        refused.complete(messages, max_tokens=8)
    failures.append(info.value)

    # not vacuous: the server did echo the key back, and we saw debug logs from the stack
    assert "Bearer ***" in str(failures[0]) and failures[1].status_code == 429
    assert any(r.name.startswith(("httpx", "httpcore")) for r in caplog.records)
    assert any("retrying in" in r.getMessage() for r in caplog.records)

    logged = [caplog.text] + [r.getMessage() + repr(r.args) for r in caplog.records]
    shown = [
        repr(client),
        repr(client.inner),
        repr(client.inner.config),
        repr(refused),
        repr(store),
    ]
    raised = [text for exc in failures for text in _exception_texts(exc)]
    for text in logged + shown + raised:
        assert secret not in text

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) == 1
    for path in files:
        assert secret.encode() not in path.read_bytes()
