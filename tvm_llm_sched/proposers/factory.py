"""Turn a proposer name (or an instance) into a :class:`~tvm_llm_sched.proposers.base.Proposer`.

Kinds:

``"openai"``
    :class:`~tvm_llm_sched.proposers.llm.LLMProposer` over a
    :class:`~tvm_llm_sched.llm.ChatClient`. The endpoint comes from keyword arguments
    (``base_url``, ``model``, ``api_key``, ``connect_timeout``, ``read_timeout``, ``extra_body``,
    ``json_mode``) over ``TVM_LLM_SCHED_*`` environment variables; ``retry``, ``budget``,
    ``max_concurrency``, ``max_reply_bytes`` and ``http_client`` go to the client, ``config`` to
    the proposer, and ``record_to=<dir>`` records every exchange for replay.
``"expert"``
    The embedded expert policy, ``ExpertPolicy(**kwargs)``; no model, no network.
``"replay"``
    ``path=<dir>``: an LLM proposer answering only from a recording made with ``record_to``, so a
    recorded tuning run replays byte-identically without a model or a network.
``"random"``
    ``RandomProposer(seed=...)``: a seeded uniform pick from the legal-step menu, the control
    every proposer must beat.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from ..llm import ChatClient, EndpointConfig, RecordingChatClient, RecordingStore, ReplayChatClient
from ..llm.config import ENV_BASE_URL
from .base import Proposer
from .expert import ExpertPolicy
from .llm import LLMProposer, LLMProposerConfig
from .random import RandomProposer

_ENDPOINT_ARGS = frozenset(f.name for f in dataclasses.fields(EndpointConfig))
_CLIENT_ARGS = frozenset({"retry", "budget", "max_concurrency", "max_reply_bytes", "http_client"})


def _openai(
    *,
    config: LLMProposerConfig | None = None,
    record_to: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> LLMProposer:
    unknown = set(kwargs) - _ENDPOINT_ARGS - _CLIENT_ARGS
    if unknown:
        raise TypeError(
            f"create('openai') got unexpected arguments {sorted(unknown)}; it takes "
            f"{sorted(_ENDPOINT_ARGS | _CLIENT_ARGS | {'config', 'record_to'})}"
        )
    endpoint_args = {k: v for k, v in kwargs.items() if k in _ENDPOINT_ARGS}
    client_args = {k: v for k, v in kwargs.items() if k in _CLIENT_ARGS}
    if "base_url" in endpoint_args:
        if "model" not in endpoint_args:
            raise ValueError("create('openai', base_url=...) also needs model=...")
        endpoint = EndpointConfig(**endpoint_args)
    else:  # the environment names the endpoint; explicit arguments override single fields
        endpoint = dataclasses.replace(EndpointConfig.from_env(required=True), **endpoint_args)
    backend: Any = ChatClient(endpoint, **client_args)
    if record_to is not None:
        backend = RecordingChatClient(backend, RecordingStore(record_to))
    return LLMProposer(backend, config=config or LLMProposerConfig(json_mode=endpoint.json_mode))


def _replay(
    *,
    path: str | os.PathLike[str],
    model: str | None = None,
    config: LLMProposerConfig | None = None,
) -> LLMProposer:
    store = RecordingStore(path)
    first = next(iter(store), None)
    if first is None:
        raise ValueError(f"create('replay'): no recordings in {os.fspath(path)!r}")
    request = first.request
    if config is None:  # ask exactly as the recorded run asked, or no request would match
        config = LLMProposerConfig(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            json_mode=request.response_format is not None,
        )
    return LLMProposer(ReplayChatClient(store, model=model or request.model), config=config)


PROPOSER_KINDS: dict[str, Callable[..., Proposer]] = {
    "openai": _openai,
    "expert": ExpertPolicy,
    "replay": _replay,
    "random": RandomProposer,
}
"""Builders by kind name; :func:`create` looks kinds up here."""


def create(kind: str | Proposer, **kwargs: Any) -> Proposer:
    """Build a proposer by kind, or pass a :class:`Proposer` instance through unchanged.

    Parameters
    ----------
    kind : str | Proposer
        ``"openai"``, ``"expert"`` or ``"replay"`` (see the module docstring), or a proposer.
    **kwargs
        The kind's arguments.

    Returns
    -------
    Proposer

    Raises
    ------
    ValueError
        Unknown kind (the message lists the kinds), or unusable arguments.
    TypeError
        Arguments the kind does not take, or arguments given with an instance.
    ProposerError
        ``"openai"`` without ``base_url`` while the environment names no endpoint.

    Examples
    --------
    >>> create("telepathy")
    Traceback (most recent call last):
    ...
    ValueError: unknown proposer kind 'telepathy'; kinds are openai, expert, replay, random
    """
    if isinstance(kind, Proposer):
        if kwargs:
            raise TypeError(f"arguments {sorted(kwargs)} given with a proposer instance")
        return kind
    builder = PROPOSER_KINDS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise ValueError(f"unknown proposer kind {kind!r}; kinds are {', '.join(PROPOSER_KINDS)}")
    return builder(**kwargs)


def default_kind() -> str:
    """``"openai"`` when ``TVM_LLM_SCHED_BASE_URL`` is set, else ``"expert"``."""
    return "openai" if os.environ.get(ENV_BASE_URL, "").strip() else "expert"


def default_proposer() -> Proposer:
    """``create(default_kind())``: the configured endpoint, else the embedded expert policy.

    Raises
    ------
    ProposerError
        The environment names an endpoint inconsistently (e.g. a base URL but no model).
    """
    return create(default_kind())
