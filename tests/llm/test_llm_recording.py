"""Recording store, RecordingChatClient and ReplayChatClient: byte-identical, offline replay."""

from __future__ import annotations

import asyncio
import os
import socket

import httpx
import pytest

from tvm_llm_sched.errors import DatabaseRecordError, EndpointStatusError, ReplayMissError
from tvm_llm_sched.llm import (
    ChatReply,
    ChatRequest,
    RecordingChatClient,
    RecordingStore,
    ReplayChatClient,
    Usage,
)
from tvm_llm_sched.llm import recording as recording_module
from tvm_llm_sched.testing import Fault, FaultServer, OpenAICompatServer

# Awkward text: non-ASCII, an emoji, a JSON-looking body, separators, a lone surrogate.
ANSWERS = [
    'split l0 → [4, 8]; "quoted" \\ back\u2028slash ',
    "🚀 unroll\n\n  vectorize l3\t",
    '{"step": "tile", "args": [1, 2.50, null]}',
    "lone \ud800 surrogate",
]


def _prompts(n: int) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"state {i}: é"}] for i in range(n)]


def _record(make_client, store) -> list[ChatReply]:
    answers = iter(ANSWERS)
    with OpenAICompatServer(lambda msgs, request: next(answers)) as server:
        with RecordingChatClient(make_client(server.base_url), store) as client:
            return [
                client.complete(prompt, max_tokens=64, temperature=0.7)
                for prompt in _prompts(len(ANSWERS))
            ]


def test_record_then_replay_is_byte_identical_and_offline(make_client, tmp_path, monkeypatch):
    store = RecordingStore(tmp_path / "rec")
    recorded = _record(make_client, store)
    assert len(store) == len(ANSWERS) and [r.text for r in recorded] == ANSWERS

    def no_network(*args, **kwargs):
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(httpx.Client, "send", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    replay = ReplayChatClient(RecordingStore(tmp_path / "rec"), model="test-model")
    for prompt, original in zip(_prompts(len(ANSWERS)), recorded, strict=True):
        reply = replay.complete(prompt, max_tokens=64, temperature=0.7)
        assert reply.text.encode("utf-8", "surrogatepass") == original.text.encode(
            "utf-8", "surrogatepass"
        )
        assert (reply.usage, reply.model, reply.finish_reason) == (
            original.usage,
            original.model,
            original.finish_reason,
        )
        assert reply.attempts == 0
    again = asyncio.run(replay.acomplete(_prompts(1)[0], max_tokens=64, temperature=0.7))
    assert again.text == ANSWERS[0]


def test_replay_miss_is_a_clear_error(tmp_path):
    store = RecordingStore(tmp_path)
    prompt = _prompts(1)[0]
    store.put(ChatRequest.build("m", prompt, max_tokens=8), ChatReply(text="a"))
    replay = ReplayChatClient(store, model="m")
    assert replay.complete(prompt, max_tokens=8).text == "a"
    for kwargs in ({"max_tokens": 9}, {"max_tokens": 8, "temperature": 0.1}):
        with pytest.raises(ReplayMissError, match="no recorded reply"):
            replay.complete(prompt, **kwargs)
    with pytest.raises(ReplayMissError):
        ReplayChatClient(store, model="other").complete(prompt, max_tokens=8)


def test_key_covers_request_content_but_not_credentials(make_client, tmp_path):
    base = ChatRequest.build("m", _prompts(1)[0], max_tokens=8)
    variants = [
        ChatRequest.build("m2", _prompts(1)[0], max_tokens=8),
        ChatRequest.build("m", _prompts(2)[1], max_tokens=8),
        ChatRequest.build("m", _prompts(1)[0], max_tokens=9),
        ChatRequest.build("m", _prompts(1)[0], max_tokens=8, temperature=0.5),
        ChatRequest.build(
            "m", _prompts(1)[0], max_tokens=8, response_format={"type": "json_object"}
        ),
    ]
    assert len({base.key()} | {v.key() for v in variants}) == 6
    assert ChatRequest.build("m", _prompts(1)[0], max_tokens=8, temperature=0).key() == base.key()

    store = RecordingStore(tmp_path)
    with OpenAICompatServer(lambda msgs, request: "same") as server:
        for key in ("sk-one", "sk-two", None):
            inner = make_client(server.base_url, api_key=key)
            RecordingChatClient(inner, store).complete(_prompts(1)[0], max_tokens=8)
    assert len(store) == 1


def test_failed_calls_are_not_recorded(make_client, tmp_path):
    store = RecordingStore(tmp_path)
    with FaultServer([Fault.status(400)]) as server:
        with pytest.raises(EndpointStatusError):
            RecordingChatClient(make_client(server.base_url), store).complete(
                _prompts(1)[0], max_tokens=8
            )
    assert len(store) == 0


def test_interrupted_write_leaves_old_entry_and_no_debris(tmp_path, monkeypatch):
    store = RecordingStore(tmp_path)
    request = ChatRequest.build("m", _prompts(1)[0], max_tokens=8)
    store.put(request, ChatReply(text="old"))

    def killed(src, dst):
        raise KeyboardInterrupt  # as if the run died between write and rename

    monkeypatch.setattr(recording_module.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.put(request, ChatReply(text="new"))
    monkeypatch.undo()
    assert store.get(request).reply.text == "old"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{request.key()}.json"]


def test_stray_temp_file_is_ignored(tmp_path):
    store = RecordingStore(tmp_path)
    request = ChatRequest.build("m", _prompts(1)[0], max_tokens=8)
    store.put(request, ChatReply(text="kept", usage=Usage(1, 2, 3)))
    (store.path_for(request.key()).parent / ".deadbeef-xyz.tmp").write_bytes(b'{"half')
    assert len(store) == 1
    (entry,) = list(store)
    assert entry.reply.usage == Usage(1, 2, 3) and entry.request == request


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "not json at all",
        lambda text: text.replace('"text"', '"txet"'),  # missing field
        lambda text: text.replace('"max_tokens": 8', '"max_tokens": 9'),  # wrong request
    ],
    ids=["truncated", "garbage", "missing-field", "wrong-request"],
)
def test_corrupt_entry_is_reported_clearly(tmp_path, damage):
    store = RecordingStore(tmp_path)
    request = ChatRequest.build("m", _prompts(1)[0], max_tokens=8)
    store.put(request, ChatReply(text="x"))
    path = store.path_for(request.key())
    path.write_text(damage(path.read_text()))
    with pytest.raises(DatabaseRecordError) as info:
        ReplayChatClient(store, model="m").complete(_prompts(1)[0], max_tokens=8)
    assert str(path) in str(info.value) and info.value.path == str(path)
    with pytest.raises(DatabaseRecordError):
        list(store)


def test_store_files_are_plain_json(tmp_path):
    store = RecordingStore(tmp_path)
    request = ChatRequest.build("m", _prompts(1)[0], max_tokens=8)
    store.put(request, ChatReply(text="é"))
    path = store.path_for(request.key())
    assert path.parent.name == request.key()[:2] and os.path.getsize(path) > 0
    assert path.read_bytes().isascii()
