"""The test kit's servers: OpenAI-compatible shape, request validation, scripted faults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from tvm_llm_sched.testing import Fault, FaultServer, OpenAICompatServer, free_port

GOOD = {"model": "m", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 5}


@pytest.fixture
def echo_server():
    with OpenAICompatServer(lambda msgs, request: msgs[-1]["content"][::-1], model="policy") as s:
        yield s


def test_chat_completion_shape(echo_server):
    body = httpx.post(echo_server.base_url + "/chat/completions", json=GOOD).json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "m"
    (choice,) = body["choices"]
    assert choice["message"] == {"role": "assistant", "content": "ereht olleh"}
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert echo_server.base_url.startswith("http://127.0.0.1:")


def test_models_listing(echo_server):
    body = httpx.get(echo_server.base_url + "/models").json()
    assert body["object"] == "list" and [m["id"] for m in body["data"]] == ["policy"]


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "m", "messages": []}', "messages"),
        (b'{"model": "m", "messages": [{"content": "x"}]}', "messages"),
        (b'{"model": "m", "messages": [{"role": "user", "content": 3}]}', "messages"),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}',
            "max_tokens",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}',
            "temperature",
        ),
    ],
)
def test_malformed_requests_get_openai_style_400(echo_server, content, param):
    response = httpx.post(
        echo_server.base_url + "/chat/completions",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"] == param


def test_unknown_path_method_and_responder_failure():
    def broken(msgs, request):
        raise RuntimeError("policy crashed")

    with OpenAICompatServer(broken) as server:
        root = server.base_url
        assert httpx.get(root + "/nothing").status_code == 404
        assert httpx.get(root + "/chat/completions").status_code == 405
        response = httpx.post(root + "/chat/completions", json=GOOD)
        assert response.status_code == 500
        assert response.json()["error"]["type"] == "server_error"
        assert httpx.post(root + "/chat/completions", json=GOOD).status_code == 500  # still up


def test_dict_answer_is_sent_verbatim():
    with OpenAICompatServer(lambda msgs, request: {"custom": True}) as server:
        assert httpx.post(server.base_url + "/chat/completions", json=GOOD).json() == {
            "custom": True
        }


def test_serve_forever_method_stops_from_another_thread():
    server = OpenAICompatServer(lambda msgs, request: "fg")
    urls: list[str] = []
    thread = threading.Thread(target=server.serve_forever, args=(urls.append,))
    thread.start()
    while not urls:
        thread.join(0.01)
    body = httpx.post(urls[0] + "/chat/completions", json=GOOD).json()
    assert body["choices"][0]["message"]["content"] == "fg"
    server.stop()
    thread.join(5)
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(urls[0] + "/models")


def test_serve_forever_function_runs_until_ctrl_c():
    code = (
        "from tvm_llm_sched.testing import serve_forever\n"
        "serve_forever(lambda m, r: 'cli', port=0, ready=lambda url: print(url, flush=True))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    # The child gets Ctrl-C's default disposition: an ignored SIGINT in the test process (left by
    # whatever ran before in the session) would be inherited and make the child deaf to it.
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        body = httpx.post(url + "/chat/completions", json=GOOD).json()
        assert body["choices"][0]["message"]["content"] == "cli"
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_fault_script_order_repeat_and_counting():
    script = [Fault.status(503, retry_after=2), Fault.ok("a"), Fault.malformed_json()]
    with FaultServer(script) as server:
        url = server.base_url + "/chat/completions"
        first = httpx.post(url, json=GOOD)
        assert first.status_code == 503 and first.headers["Retry-After"] == "2"
        assert httpx.post(url, json=GOOD).json()["choices"][0]["message"]["content"] == "a"
        for _ in range(2):  # the last fault repeats
            assert httpx.post(url, json=GOOD).content.startswith(b'{"choices": [{"message"')
    assert server.request_count == 4 and list(server.requests)[0] == GOOD


def test_huge_fault_sizes():
    with FaultServer([Fault.huge(bytes=300_000), Fault.huge(bytes=300_001, chunked=True)]) as s:
        url = s.base_url + "/chat/completions"
        plain, chunked = httpx.post(url, json=GOOD), httpx.post(url, json=GOOD)
    assert len(plain.json()["choices"][0]["message"]["content"]) == 300_000
    assert "content-length" not in chunked.headers
    assert len(chunked.json()["choices"][0]["message"]["content"]) == 300_001


def test_free_port_refuses_connections_and_bad_scripts_are_rejected():
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{free_port()}/v1/models")
    with pytest.raises(ValueError):
        FaultServer([])
    with pytest.raises(TypeError):
        OpenAICompatServer("not callable")  # type: ignore[arg-type]
