"""The one place where ``httpx`` exceptions become :mod:`tvm_llm_sched.errors` exceptions.

The table is ordered most specific first; ``tests/llm/test_llm_httpx_errors.py`` checks that every
``httpx`` exception class lands on an intended entry.
"""

from __future__ import annotations

import httpx

from ..errors import (
    EndpointError,
    EndpointStatusError,
    EndpointTimeoutError,
    EndpointTransportError,
    ProposerError,
    ReplyParseError,
)

HTTPX_ERROR_MAP: tuple[tuple[type[Exception], type[ProposerError]], ...] = (
    # ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout
    (httpx.TimeoutException, EndpointTimeoutError),
    # NetworkError (connect/read/write/close), ProtocolError, ProxyError, UnsupportedProtocol
    (httpx.TransportError, EndpointTransportError),
    # the body could not be decoded (bad gzip / brotli / charset): no parsable reply
    (httpx.DecodingError, ReplyParseError),
    (httpx.TooManyRedirects, EndpointTransportError),
    (httpx.HTTPStatusError, EndpointStatusError),
    (httpx.InvalidURL, EndpointTransportError),
    # an unknown future RequestError subclass still lands in the endpoint family
    (httpx.HTTPError, EndpointError),
)


def translate_httpx_error(exc: Exception, *, what: str, secret: str | None = None) -> ProposerError:
    """Return the :mod:`tvm_llm_sched.errors` exception for an ``httpx`` exception.

    Parameters
    ----------
    exc : Exception
        An ``httpx.HTTPError`` or ``httpx.InvalidURL``.
    what : str
        What was being done, e.g. ``"POST http://127.0.0.1:8000/v1/chat/completions"``.
    secret : str | None
        A value (the API key) to redact from the message.

    Returns
    -------
    ProposerError
        To be raised ``from exc`` by the caller.

    Raises
    ------
    TypeError
        ``exc`` is not an ``httpx`` error (a programming error, not a transport failure).
    """
    for source, target in HTTPX_ERROR_MAP:
        if isinstance(exc, source):
            message = redact(f"{what}: {type(exc).__name__}: {exc}", secret)
            if target is EndpointStatusError:
                status = exc.response.status_code  # type: ignore[attr-defined]
                return EndpointStatusError(message, status_code=status)
            return target(message)
    raise TypeError(f"not an httpx error: {type(exc).__name__}") from exc


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` in ``text`` with ``***``."""
    return text.replace(secret, "***") if secret else text
