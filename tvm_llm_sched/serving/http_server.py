"""A stdlib HTTP server on a background thread: the plumbing both test servers share.

Subclasses implement :meth:`BackgroundHTTPServer.handle`; this module starts and stops the
server, reads request bodies, counts requests and the most that were in flight at once, and
writes JSON answers.
"""

from __future__ import annotations

import abc
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 16 << 20


class RequestHandler(BaseHTTPRequestHandler):
    """One connection; hands every request to the owning :class:`BackgroundHTTPServer`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server
    body: bytes = b""

    def do_GET(self) -> None:
        self.server.owner.dispatch(self)

    def do_POST(self) -> None:
        self.server.owner.dispatch(self)

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines only (never headers, so never an Authorization value), and not to stderr.
        logger.debug("%s " + format, self.address_string(), *args)

    def send_json(
        self, status: int, body: Any, *, headers: Mapping[str, str] | None = None
    ) -> None:
        """Answer with ``body`` as JSON."""
        self.send_bytes(status, json.dumps(body).encode(), headers=headers)

    def send_bytes(
        self,
        status: int,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Answer with ``data`` and a ``Content-Length``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_stream(self, status: int, chunks: Iterable[bytes], *, length: int | None) -> None:
        """Answer with ``chunks``: ``Content-Length: length``, or chunked when ``None``."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        for part in chunks:
            self.wfile.write(part if length is not None else b"%x\r\n%s\r\n" % (len(part), part))
        if length is None:
            self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler sleeping in a scripted delay must not block stop()
    owner: BackgroundHTTPServer


class BackgroundHTTPServer(abc.ABC):
    """An HTTP server on ``host:port`` (port 0 = any free port) served from a daemon thread.

    Parameters
    ----------
    host : str
        Interface to bind; loopback by default so nothing is exposed.
    port : int
        Port to bind, 0 for a free one (read it back from :attr:`port`).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self.request_count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: deque[Any] = deque(maxlen=1000)  # parsed JSON bodies, newest last
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._serving = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``, the value for ``EndpointConfig.base_url``."""
        return f"http://{self.host}:{self.port}/v1"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    def bind(self) -> None:
        """Bind the socket (resolving port 0) without serving yet."""
        if self._server is None:
            self._stopping.clear()
            self._server = _Server((self.host, self.port), RequestHandler)
            self._server.owner = self
            self.port = self._server.server_address[1]

    def start(self) -> BackgroundHTTPServer:
        """Bind and serve on a daemon thread; returns ``self``."""
        self.bind()
        if self._thread is None:
            self._serving.set()  # before the thread runs, so an early stop() still shuts it down
            self._thread = threading.Thread(target=self._serve, name=repr(self), daemon=True)
            self._thread.start()
        return self

    def serve_forever(self, ready: Callable[[str], None] | None = None) -> None:
        """Serve on the calling thread until Ctrl-C or :meth:`stop`, then close the socket.

        Parameters
        ----------
        ready : Callable[[str], None] | None
            Called with :attr:`base_url` once the socket is bound.
        """
        self.bind()
        if ready is not None:
            ready(self.base_url)
        self._serving.set()
        try:
            self._serve()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _serve(self) -> None:
        try:
            # poll_interval bounds how long stop() waits for the loop to notice
            self._server.serve_forever(poll_interval=0.02)  # type: ignore[union-attr]
        finally:
            self._serving.clear()

    def stop(self) -> None:
        """Stop serving and close the socket; requests in progress are abandoned."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        if self._serving.is_set():
            server.shutdown()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None
        server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def dispatch(self, handler: RequestHandler) -> None:
        """Read the body, count the request and call :meth:`handle`; socket errors are dropped."""
        with self._lock:
            self.request_count += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            length = handler.headers.get("Content-Length", "0")
            if not length.isdigit() or int(length) > MAX_REQUEST_BYTES:
                handler.send_json(413, error_body("request body missing a length or too large"))
                return
            handler.body = handler.rfile.read(int(length))
            self.handle(handler)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True  # the client gave up (timeout, size cap): fine
        finally:
            with self._lock:
                self.in_flight -= 1

    def parse_json_body(self, handler: RequestHandler) -> Any:
        """The request body as JSON (also appended to :attr:`requests`); raises ``ValueError``."""
        data = json.loads(handler.body)
        self.requests.append(data)
        return data

    @abc.abstractmethod
    def handle(self, handler: RequestHandler) -> None:
        """Answer one request (``handler.command``, ``handler.path``, ``handler.body``)."""


def error_body(
    message: str, *, error_type: str = "invalid_request_error", param: str | None = None
) -> dict[str, Any]:
    """An OpenAI-style error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": None}}
