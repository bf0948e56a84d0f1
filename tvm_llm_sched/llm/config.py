"""Small keyword-only value objects that configure a chat client: endpoint, retries, budget.

No hosted endpoint is ever assumed: without ``TVM_LLM_SCHED_BASE_URL`` the caller gets ``None``
from :meth:`EndpointConfig.from_env` and falls back to the embedded expert policy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProposerError

ENV_BASE_URL = "TVM_LLM_SCHED_BASE_URL"
ENV_MODEL = "TVM_LLM_SCHED_MODEL"
ENV_API_KEY = "TVM_LLM_SCHED_API_KEY"
ENV_API_KEY_FALLBACK = "OPENAI_API_KEY"
ENV_JSON_MODE = "TVM_LLM_SCHED_JSON_MODE"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def parse_flag(text: str) -> bool:
    """An environment flag: ``1/true/yes/on`` or ``0/false/no/off`` (any case; blank is off).

    Raises
    ------
    ValueError
        Anything else.
    """
    lowered = text.strip().lower()
    if lowered not in _TRUE | _FALSE:
        raise ValueError(f"expected 0/1/true/false, got {text!r}")
    return lowered in _TRUE


def _require_positive(owner: str, **values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not (isinstance(value, int | float) and value > 0):
            raise ValueError(f"{owner}.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class EndpointConfig:
    """Where and how to reach an OpenAI-compatible ``/chat/completions`` endpoint.

    Parameters
    ----------
    base_url : str
        The API root including the version, e.g. ``"http://127.0.0.1:8000/v1"``; the client
        POSTs to ``{base_url}/chat/completions``. A trailing slash is removed.
    model : str
        The model name sent in every request.
    api_key : str | None
        Sent as ``Authorization: Bearer ...``; hidden from ``repr`` and redacted everywhere.
    connect_timeout, read_timeout : float
        Seconds to wait for the connection and for each read of the reply.
    extra_body : Mapping[str, Any]
        Extra request fields (``top_p``, ``seed``, server-specific knobs); the client's own
        fields (``model``, ``messages``, ``max_tokens``, ...) take precedence.
    json_mode : bool
        Ask for ``response_format={"type": "json_object"}`` on every call (dropped for good
        if the server rejects it).

    Examples
    --------
    >>> cfg = EndpointConfig(base_url="http://127.0.0.1:8000/v1/", model="m", api_key="sk-x")
    >>> cfg.base_url, "sk-x" in repr(cfg)
    ('http://127.0.0.1:8000/v1', False)
    """

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    extra_body: Mapping[str, Any] = field(default_factory=dict, hash=False)
    json_mode: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.base_url, str) or not self.base_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError(
                f"EndpointConfig.base_url must start with http:// or https://, "
                f"got {self.base_url!r}"
            )
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not isinstance(self.model, str) or not self.model:
            raise ValueError("EndpointConfig.model must be a non-empty string")
        if self.api_key is not None and not isinstance(self.api_key, str):
            raise TypeError("EndpointConfig.api_key must be a string or None")
        _require_positive(
            "EndpointConfig", connect_timeout=self.connect_timeout, read_timeout=self.read_timeout
        )
        if not isinstance(self.extra_body, Mapping):
            raise TypeError("EndpointConfig.extra_body must be a mapping")
        object.__setattr__(self, "api_key", self.api_key or None)
        object.__setattr__(self, "extra_body", dict(self.extra_body))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, required: bool = False
    ) -> EndpointConfig | None:
        """Read the endpoint from environment variables.

        ``TVM_LLM_SCHED_BASE_URL`` and ``TVM_LLM_SCHED_MODEL`` name the endpoint;
        ``TVM_LLM_SCHED_API_KEY`` (falling back to ``OPENAI_API_KEY``) is the key and
        ``TVM_LLM_SCHED_JSON_MODE=1`` turns on JSON mode.

        Parameters
        ----------
        environ : Mapping[str, str] | None
            The variables to read; ``os.environ`` by default.
        required : bool
            Raise instead of returning ``None`` when no base URL is set.

        Returns
        -------
        EndpointConfig | None
            ``None`` when no base URL is set (use the embedded policy instead).

        Raises
        ------
        ProposerError
            The base URL is missing and ``required``, or the variables are inconsistent.
        """
        env = os.environ if environ is None else environ
        base_url = env.get(ENV_BASE_URL, "").strip()
        if not base_url:
            if required:
                raise ProposerError(
                    f"no model endpoint configured: set {ENV_BASE_URL} "
                    f"(e.g. http://127.0.0.1:8000/v1) and {ENV_MODEL}"
                )
            return None
        model = env.get(ENV_MODEL, "").strip()
        if not model:
            raise ProposerError(f"{ENV_BASE_URL} is set but {ENV_MODEL} is not")
        raw_json_mode = env.get(ENV_JSON_MODE, "")
        try:
            json_mode = parse_flag(raw_json_mode)
        except ValueError:
            raise ProposerError(
                f"{ENV_JSON_MODE} must be 0/1/true/false, got {raw_json_mode.strip().lower()!r}"
            ) from None
        api_key = env.get(ENV_API_KEY) or env.get(ENV_API_KEY_FALLBACK) or None
        try:
            return cls(base_url=base_url, model=model, api_key=api_key, json_mode=json_mode)
        except ValueError as exc:
            raise ProposerError(f"invalid endpoint in the environment: {exc}") from exc


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How a chat client retries transport errors, timeouts, 429 and 5xx answers.

    Parameters
    ----------
    max_attempts : int
        Attempts per call including the first (1 = never retry).
    initial_backoff, max_backoff : float
        Exponential backoff in seconds: ``initial * 2**(attempt-1)``, capped at ``max_backoff``.
    jitter : float
        Up to this many random seconds added to each (capped) backoff, to spread parallel
        retries.
    max_retry_after : float
        Cap on a server's ``Retry-After`` request.

    Examples
    --------
    >>> RetryPolicy(max_attempts=1).max_attempts
    1
    """

    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts!r}")
        for name in ("initial_backoff", "max_backoff", "jitter", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0 or math.isnan(value):
                raise ValueError(f"RetryPolicy.{name} must be a number >= 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Budget:
    """Upper bounds on what one client may spend; ``None`` means unlimited.

    Parameters
    ----------
    max_calls : int | None
        Calls to :meth:`ChatBackend.complete` (retries of one call count once).
    max_tokens : int | None
        Total tokens (prompt + completion, as the server reports them). A call is refused when
        the tokens used so far plus its ``max_tokens`` would exceed this.

    Examples
    --------
    >>> Budget(max_calls=10).max_tokens is None
    True
    """

    max_calls: int | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_calls", "max_tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"Budget.{name} must be an int >= 0 or None, got {value!r}")
