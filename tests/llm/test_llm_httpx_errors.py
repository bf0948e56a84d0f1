"""Every httpx exception is translated into the package's error tree, in one place."""

from __future__ import annotations

import httpx
import pytest

from tvm_llm_sched.errors import (
    EndpointError,
    EndpointStatusError,
    EndpointTimeoutError,
    EndpointTransportError,
    ProposerError,
    ReplyParseError,
)
from tvm_llm_sched.llm.httpx_errors import HTTPX_ERROR_MAP, translate_httpx_error

# What each concrete httpx exception must become; a new httpx class fails the coverage test.
EXPECTED = {
    httpx.ConnectTimeout: EndpointTimeoutError,
    httpx.ReadTimeout: EndpointTimeoutError,
    httpx.WriteTimeout: EndpointTimeoutError,
    httpx.PoolTimeout: EndpointTimeoutError,
    httpx.TimeoutException: EndpointTimeoutError,
    httpx.ConnectError: EndpointTransportError,
    httpx.ReadError: EndpointTransportError,
    httpx.WriteError: EndpointTransportError,
    httpx.CloseError: EndpointTransportError,
    httpx.NetworkError: EndpointTransportError,
    httpx.LocalProtocolError: EndpointTransportError,
    httpx.RemoteProtocolError: EndpointTransportError,
    httpx.ProtocolError: EndpointTransportError,
    httpx.ProxyError: EndpointTransportError,
    httpx.UnsupportedProtocol: EndpointTransportError,
    httpx.TransportError: EndpointTransportError,
    httpx.DecodingError: ReplyParseError,
    httpx.TooManyRedirects: EndpointTransportError,
    httpx.RequestError: EndpointError,
    httpx.HTTPStatusError: EndpointStatusError,
    httpx.HTTPError: EndpointError,
    httpx.InvalidURL: EndpointTransportError,
}


def _all_httpx_errors() -> set[type[Exception]]:
    found: set[type[Exception]] = {httpx.InvalidURL}
    pending = [httpx.HTTPError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("httpx"):
            found.add(cls)
            pending.extend(cls.__subclasses__())
    return found


def _instance(cls: type[Exception]) -> Exception:
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    if issubclass(cls, httpx.HTTPStatusError):
        response = httpx.Response(418, request=request)
        return cls("teapot", request=request, response=response)
    if cls in (httpx.InvalidURL, httpx.HTTPError):
        return cls("bad url")
    return cls("boom", request=request)


def test_every_httpx_error_class_has_an_expected_mapping():
    assert _all_httpx_errors() == set(EXPECTED)


@pytest.mark.parametrize(
    "cls", sorted(EXPECTED, key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_translation(cls):
    mapped = translate_httpx_error(_instance(cls), what="POST http://x/v1/chat/completions")
    assert type(mapped) is EXPECTED[cls]
    assert isinstance(mapped, ProposerError)
    assert cls.__name__ in str(mapped) and "POST http://x/v1" in str(mapped)
    if isinstance(mapped, EndpointStatusError):
        assert mapped.status_code == 418


def test_every_table_entry_is_reached():
    reached = set()
    for cls in EXPECTED:
        exc = _instance(cls)
        reached.add(next(source for source, _ in HTTPX_ERROR_MAP if isinstance(exc, source)))
    assert reached == {source for source, _ in HTTPX_ERROR_MAP}


def test_secret_is_redacted_and_non_httpx_errors_are_refused():
    exc = httpx.ConnectError("cannot reach sk-secret-1", request=_instance(httpx.ReadError).request)
    assert "sk-secret-1" not in str(translate_httpx_error(exc, what="x", secret="sk-secret-1"))
    with pytest.raises(TypeError):
        translate_httpx_error(ValueError("not httpx"), what="x")
