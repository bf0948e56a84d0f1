"""A chat server that misbehaves on cue, for testing clients against real sockets.

Each request gets the next :class:`Fault` of the script; once the script is used up the last fault
repeats (so ``[Fault.status(500)]`` always fails). :func:`free_port` gives a port nobody listens
on, for connection-refused tests.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ..serving.http_server import BackgroundHTTPServer, RequestHandler, error_body
from ..serving.openai_server import chat_completion_body

_MODEL = "fault-server"
_HUGE_MARK = "@@huge-content@@"
_HUGE_BLOCK = 1 << 16


@dataclass(frozen=True)
class Fault:
    """One scripted answer; build it with the class methods (``Fault.status(500)``, ...)."""

    kind: str
    code: int = 200
    retry_after: float | str | None = None
    seconds: float = 0.0
    size: int = 0
    text: str = "ok"
    usage: tuple[int, int] = (10, 5)
    echo_auth: bool = False
    chunked: bool = False
    then: Fault | None = None

    @classmethod
    def ok(cls, text: str = "ok", *, prompt_tokens: int = 10, completion_tokens: int = 5) -> Fault:
        """A well-formed reply with ``text`` and the given usage."""
        return cls("ok", text=text, usage=(prompt_tokens, completion_tokens))

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: float | str | None = None,
        message: str | None = None,
        echo_auth: bool = False,
    ) -> Fault:
        """An HTTP ``code`` with an OpenAI error body.

        ``retry_after`` becomes the ``Retry-After`` header (seconds, or an HTTP-date string);
        ``echo_auth`` puts the request's ``Authorization`` header into the error message, as
        some real servers do with a bad key.
        """
        return cls(
            "status",
            code=code,
            retry_after=retry_after,
            text=message or f"scripted HTTP {code}",
            echo_auth=echo_auth,
        )

    @classmethod
    def delay(cls, seconds: float, then: Fault | None = None) -> Fault:
        """Wait ``seconds`` before answering with ``then`` (a read timeout for short timeouts)."""
        return cls("delay", seconds=seconds, then=then or cls.ok("late"))

    @classmethod
    def malformed_json(cls) -> Fault:
        """A 200 whose body is not JSON."""
        return cls("malformed_json")

    @classmethod
    def empty_choices(cls) -> Fault:
        """A 200 with ``"choices": []``."""
        return cls("empty_choices")

    @classmethod
    def no_content(cls) -> Fault:
        """A 200 whose ``choices[0].message`` has ``"content": null``."""
        return cls("no_content")

    @classmethod
    def non_string_content(cls) -> Fault:
        """A 200 whose ``choices[0].message.content`` is a JSON array."""
        return cls("non_string_content")

    @classmethod
    def huge(cls, bytes: int = 2_000_000, *, chunked: bool = False) -> Fault:
        """A valid reply whose content is ``bytes`` long (chunked: no ``Content-Length``)."""
        return cls("huge", size=bytes, chunked=chunked)

    @classmethod
    def close_connection(cls) -> Fault:
        """Read the request, then close the socket without answering."""
        return cls("close_connection")


class FaultServer(BackgroundHTTPServer):
    """Answer successive ``POST /v1/chat/completions`` requests per a script of faults.

    Parameters
    ----------
    script : Sequence[Fault]
        The answers in order; the last one repeats.
    host, port : str, int
        Where to listen (loopback, any free port by default).

    Examples
    --------
    >>> import httpx
    >>> with FaultServer([Fault.status(503), Fault.ok("fine")]) as server:
    ...     url = server.base_url + "/chat/completions"
    ...     codes = [httpx.post(url, json={}).status_code for _ in range(3)]
    >>> codes, server.request_count
    ([503, 200, 200], 3)
    """

    def __init__(self, script: Sequence[Fault], *, host: str = "127.0.0.1", port: int = 0):
        script = list(script)
        if not script or not all(isinstance(fault, Fault) for fault in script):
            raise ValueError("script must be a non-empty sequence of Fault objects")
        super().__init__(host=host, port=port)
        self.script = script
        self._next = 0
        self._script_lock = threading.Lock()

    def handle(self, handler: RequestHandler) -> None:
        """Answer with the next scripted fault."""
        try:
            self.parse_json_body(handler)
        except ValueError:
            self.requests.append(None)
        with self._script_lock:
            fault = self.script[min(self._next, len(self.script) - 1)]
            self._next += 1
        self._answer(handler, fault)

    def _answer(self, handler: RequestHandler, fault: Fault) -> None:
        if fault.kind == "delay":
            if self._stopping.wait(fault.seconds):
                handler.close_connection = True
                return
            self._answer(handler, fault.then)  # type: ignore[arg-type]
        elif fault.kind == "status":
            message = fault.text
            if fault.echo_auth:
                message += f" (you sent: {handler.headers.get('Authorization')})"
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            handler.send_json(
                fault.code, error_body(message, error_type="scripted"), headers=headers
            )
        elif fault.kind == "close_connection":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
        elif fault.kind == "malformed_json":
            handler.send_bytes(200, b'{"choices": [{"message": {"content": "unterminated')
        elif fault.kind == "huge":
            # streamed from one reused block, so a 100 MB fault costs the server nothing
            head, tail = json.dumps(_reply(_HUGE_MARK)).encode().split(_HUGE_MARK.encode())
            block = b"x" * _HUGE_BLOCK
            full, rest = divmod(fault.size, _HUGE_BLOCK)
            chunks = [head, *[block] * full, block[:rest], tail]
            length = None if fault.chunked else len(head) + fault.size + len(tail)
            handler.send_stream(200, chunks, length=length)
        else:
            handler.send_json(200, _FAULT_BODIES[fault.kind](fault))


def _reply(content: object, prompt_tokens: int = 10, completion_tokens: int = 5) -> dict:
    return chat_completion_body(
        content, model=_MODEL, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
    )


def _without_choices(fault: Fault) -> dict:
    body = _reply("")
    body["choices"] = []
    return body


_FAULT_BODIES = {
    "ok": lambda fault: _reply(fault.text, *fault.usage),
    "empty_choices": _without_choices,
    "no_content": lambda fault: _reply(None),
    "non_string_content": lambda fault: _reply([{"type": "text", "text": "hi"}]),
}


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` with nothing listening (connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
