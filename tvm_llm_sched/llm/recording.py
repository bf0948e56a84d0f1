"""Record chat exchanges to disk and replay them byte-identically without a network.

The store is content-addressed: one JSON file per request, named by
:meth:`ChatRequest.key <tvm_llm_sched.llm.backend.ChatRequest.key>` (sha256 of the canonical
request: model, messages, ``max_tokens``, ``temperature``, ``response_format`` as the caller
passed them; never credentials, and not a client's configured JSON mode or ``extra_body``). A
request recorded twice keeps the latest reply. Files are written to a temporary name and
renamed, so a killed run leaves either the old entry or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import DatabaseRecordError, ReplayMissError
from .backend import ChatBackend, ChatReply, ChatRequest, Usage

FORMAT_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class Recording:
    """One stored exchange: the request, the reply and when it was recorded."""

    key: str
    request: ChatRequest
    reply: ChatReply
    recorded_at: str


class RecordingStore:
    """A directory of recorded chat exchanges, addressed by request content.

    Parameters
    ----------
    root : str | os.PathLike
        The directory (created on first write). Entries live at ``root/<k[:2]>/<k>.json``.

    Examples
    --------
    >>> import tempfile
    >>> store = RecordingStore(tempfile.mkdtemp())
    >>> req = ChatRequest.build("m", [{"role": "user", "content": "hi"}], max_tokens=8)
    >>> store.put(req, ChatReply(text="hello"))
    >>> store.get(req).reply.text, len(store)
    ('hello', 1)
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RecordingStore({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """Where the entry with ``key`` lives (whether or not it exists)."""
        return self.root / key[:2] / f"{key}.json"

    def put(self, request: ChatRequest, reply: ChatReply) -> None:
        """Store ``reply`` as the answer to ``request`` (atomically replacing any older one)."""
        key = request.key()
        entry = {
            "format": FORMAT_VERSION,
            "key": key,
            "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "request": request.to_dict(),
            "reply": {
                "text": reply.text,
                "usage": {
                    "prompt_tokens": reply.usage.prompt_tokens,
                    "completion_tokens": reply.usage.completion_tokens,
                    "total_tokens": reply.usage.total_tokens,
                },
                "model": reply.model,
                "finish_reason": reply.finish_reason,
                "latency_s": reply.latency_s,
                "attempts": reply.attempts,
            },
        }
        # ASCII JSON escapes every non-ASCII code point, so any str (even a lone surrogate)
        # round-trips exactly.
        data = json.dumps(entry, indent=1, sort_keys=True).encode("ascii")
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, request: ChatRequest) -> Recording | None:
        """The recorded exchange for ``request``, or ``None``.

        Raises
        ------
        DatabaseRecordError
            The entry file exists but is unreadable, not JSON, or not an entry for this request.
        """
        path = self.path_for(request.key())
        if not path.exists():
            return None
        recording = self._load(path)
        if recording.request != request:
            raise DatabaseRecordError(
                f"recording {path} holds a different request than its name says", path=str(path)
            )
        return recording

    def __len__(self) -> int:
        return sum(1 for _ in self._paths())

    def __iter__(self) -> Iterator[Recording]:
        """Every recorded exchange, in key order (raises on a corrupt entry)."""
        return (self._load(path) for path in self._paths())

    def _paths(self) -> list[Path]:
        return sorted(self.root.glob("??/*.json")) if self.root.is_dir() else []

    @staticmethod
    def _load(path: Path) -> Recording:
        try:
            entry = json.loads(path.read_bytes())
            if entry.get("format") != FORMAT_VERSION:
                raise ValueError(f"unknown format {entry.get('format')!r}")
            req, rep = entry["request"], entry["reply"]
            request = ChatRequest.build(
                req["model"],
                req["messages"],
                max_tokens=req["max_tokens"],
                temperature=req["temperature"],
                response_format=req["response_format"],
            )
            if not isinstance(rep["text"], str):
                raise ValueError("reply text is not a string")
            reply = ChatReply(
                text=rep["text"],
                usage=Usage(**rep["usage"]),
                model=rep["model"],
                finish_reason=rep["finish_reason"],
                latency_s=rep["latency_s"],
                attempts=rep["attempts"],
            )
            key = entry["key"]
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise DatabaseRecordError(
                f"corrupt recording {path}: {type(exc).__name__}: {exc}", path=str(path)
            ) from exc
        if key != path.stem or request.key() != key:
            raise DatabaseRecordError(
                f"recording {path} holds a different request than its name says", path=str(path)
            )
        return Recording(key=key, request=request, reply=reply, recorded_at=entry["recorded_at"])


class RecordingChatClient(ChatBackend):
    """Pass every call to ``inner`` and record the request and reply in ``store``.

    Parameters
    ----------
    inner : ChatBackend
        The backend that really answers (usually a :class:`ChatClient`); closed by :meth:`close`.
    store : RecordingStore
        Where exchanges are written.

    Examples
    --------
    >>> import tempfile
    >>> from tvm_llm_sched.llm import ChatClient, EndpointConfig
    >>> from tvm_llm_sched.serving import OpenAICompatServer
    >>> store = RecordingStore(tempfile.mkdtemp())
    >>> with OpenAICompatServer(lambda messages, request: "ok") as server:
    ...     inner = ChatClient(EndpointConfig(base_url=server.base_url, model="m"))
    ...     with RecordingChatClient(inner, store) as client:
    ...         _ = client.complete([{"role": "user", "content": "hi"}], max_tokens=8)
    >>> len(store)
    1
    """

    def __init__(self, inner: ChatBackend, store: RecordingStore):
        self.inner = inner
        self.store = store

    @property
    def model(self) -> str:  # type: ignore[override]
        """The inner backend's model."""
        return self.inner.model

    def send(self, request: ChatRequest) -> ChatReply:
        """Answer through ``inner`` and record the exchange."""
        reply = self.inner.send(request)
        self.store.put(request, reply)
        return reply

    def close(self) -> None:
        """Close the inner backend."""
        self.inner.close()


class ReplayChatClient(ChatBackend):
    """Answer from a :class:`RecordingStore` only; there is no network code in this class.

    Parameters
    ----------
    store : RecordingStore
        The recorded exchanges.
    model : str
        The model name the recording was made with (part of every request key).

    Raises
    ------
    ReplayMissError
        From :meth:`ChatBackend.complete`, for a request that was never recorded.

    Examples
    --------
    >>> import tempfile
    >>> store = RecordingStore(tempfile.mkdtemp())
    >>> msgs = [{"role": "user", "content": "hi"}]
    >>> store.put(ChatRequest.build("m", msgs, max_tokens=8), ChatReply(text="hello"))
    >>> ReplayChatClient(store, model="m").complete(msgs, max_tokens=8).text
    'hello'
    """

    def __init__(self, store: RecordingStore, *, model: str):
        self.store = store
        self.model = model

    def send(self, request: ChatRequest) -> ChatReply:
        """Return the recorded reply for an identical request."""
        start = time.monotonic()
        recording = self.store.get(request)
        if recording is None:
            raise ReplayMissError(
                f"no recorded reply in {self.store.root} for this request (key {request.key()}, "
                f"model {self.model!r}, {len(request.messages)} message(s), "
                f"max_tokens={request.max_tokens}, temperature={request.temperature})"
            )
        recorded = recording.reply
        return ChatReply(
            text=recorded.text,
            usage=recorded.usage,
            model=recorded.model,
            finish_reason=recorded.finish_reason,
            latency_s=time.monotonic() - start,
            attempts=0,
        )
