"""The chat backend interface: messages in, reply text and token usage out.

Every backend (the HTTP :class:`~tvm_llm_sched.llm.client.ChatClient`, the recording and the
replay backends) implements :meth:`ChatBackend.complete`; the async :meth:`ChatBackend.acomplete`
is the same synchronous core run in a worker thread, never a second code path.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

Message = Mapping[str, Any]


@dataclass(frozen=True)
class Usage:
    """Token counts of one reply, or running totals (``a + b``).

    Examples
    --------
    >>> Usage(1, 2, 3) + Usage(1, 1, 2)
    Usage(prompt_tokens=2, completion_tokens=3, total_tokens=5)
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )


@dataclass(frozen=True, kw_only=True)
class ChatReply:
    """One model answer.

    Parameters
    ----------
    text : str
        ``choices[0].message.content``, exactly as the server sent it.
    usage : Usage
        Token counts the server reported (zeros when it reported none).
    model : str
        The model that answered.
    finish_reason : str | None
        ``"stop"``, ``"length"``, ... as reported.
    latency_s : float
        Wall time of the call including retries (for a replayed reply: the replay lookup).
    attempts : int
        HTTP attempts the call took (0 for a replayed reply).
    formatted : bool
        Whether the request's ``response_format`` reached the server (``False`` when there was
        none, or the client dropped it because the server refused it).
    """

    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None
    latency_s: float = 0.0
    attempts: int = 1
    formatted: bool = False


@dataclass(frozen=True, kw_only=True)
class ChatRequest:
    """What a caller asked for, in canonical form; it never holds credentials.

    Its :meth:`key` (sha256 of the canonical JSON) addresses recordings.

    Examples
    --------
    >>> req = ChatRequest.build("m", [{"role": "user", "content": "hi"}], max_tokens=8)
    >>> len(req.key())
    64
    """

    model: str
    messages: tuple[Mapping[str, Any], ...]
    max_tokens: int
    temperature: float = 0.0
    response_format: Mapping[str, Any] | None = None

    @classmethod
    def build(
        cls,
        model: str,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatRequest:
        """Validate caller input and return the canonical request.

        Raises
        ------
        TypeError
            ``messages`` is not a sequence of mappings, or holds non-JSON values.
        ValueError
            No messages, a message without a string ``role``, ``max_tokens < 1``, or a
            negative or non-finite ``temperature``.
        """
        if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Sequence):
            raise TypeError("messages must be a sequence of {'role': ..., 'content': ...} dicts")
        if not messages:
            raise ValueError("messages must not be empty")
        normalized = []
        for index, message in enumerate(messages):
            if not isinstance(message, Mapping):
                raise TypeError(
                    f"messages[{index}] must be a mapping, got {type(message).__name__}"
                )
            if not isinstance(message.get("role"), str) or not message["role"]:
                raise ValueError(f"messages[{index}] needs a non-empty string 'role'")
            normalized.append(dict(message))
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be an int >= 1, got {max_tokens!r}")
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise TypeError(f"temperature must be a number, got {temperature!r}")
        if not 0.0 <= float(temperature) < float("inf"):
            raise ValueError(f"temperature must be finite and >= 0, got {temperature!r}")
        if response_format is not None and not isinstance(response_format, Mapping):
            raise TypeError("response_format must be a mapping such as {'type': 'json_object'}")
        request = cls(
            model=model,
            messages=tuple(normalized),
            max_tokens=max_tokens,
            temperature=float(temperature),
            response_format=None if response_format is None else dict(response_format),
        )
        request.canonical_json()  # fail here, not in the transport, on non-JSON content
        return request

    def to_dict(self) -> dict[str, Any]:
        """The request as plain JSON data (messages as a list)."""
        data = asdict(self)
        data["messages"] = [dict(m) for m in self.messages]
        return data

    def canonical_json(self) -> str:
        """Sorted-key, compact, ASCII-only JSON: equal requests give equal strings."""
        try:
            return json.dumps(
                self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False
            )
        except (TypeError, ValueError) as exc:
            raise TypeError(f"chat request is not JSON-serializable: {exc}") from exc

    def key(self) -> str:
        """The content address: hex sha256 of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()


class ChatBackend(abc.ABC):
    """Something that answers chat messages: an HTTP endpoint, a recording, a replay.

    Callers use :meth:`complete` (or :meth:`acomplete`); a subclass sets :attr:`model` and
    implements :meth:`send`, which receives the validated, canonical :class:`ChatRequest`.
    :meth:`close` and the context manager are optional hooks.

    Examples
    --------
    >>> class Echo(ChatBackend):
    ...     model = "echo"
    ...     def send(self, request):
    ...         return ChatReply(text=request.messages[-1]["content"], model=self.model)
    >>> Echo().complete([{"role": "user", "content": "hi"}], max_tokens=4).text
    'hi'
    """

    model: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatReply:
        """Answer ``messages`` (OpenAI chat format).

        Parameters
        ----------
        messages : Sequence[Mapping[str, Any]]
            ``[{"role": "system" | "user" | "assistant", "content": str}, ...]``.
        max_tokens : int
            Completion token cap.
        temperature : float
            Sampling temperature (0 = greedy).
        response_format : Mapping[str, Any] | None
            E.g. ``{"type": "json_object"}``.

        Returns
        -------
        ChatReply

        Raises
        ------
        TypeError, ValueError
            Malformed arguments (see :meth:`ChatRequest.build`); nothing was sent.
        ProposerError
            Any failure to answer, as a member of :mod:`tvm_llm_sched.errors`' tree.
        """
        return self.send(
            ChatRequest.build(
                self.model,
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                response_format=response_format,
            )
        )

    async def acomplete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatReply:
        """:meth:`complete` with the blocking part run in the event loop's default executor."""
        call = functools.partial(
            self.complete,
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            response_format=response_format,
        )
        return await asyncio.get_running_loop().run_in_executor(None, call)

    @abc.abstractmethod
    def send(self, request: ChatRequest) -> ChatReply:
        """Answer one validated request; raise a :class:`~tvm_llm_sched.errors.ProposerError`."""

    def close(self) -> None:
        """Release resources (connections); nothing to release by default."""
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
