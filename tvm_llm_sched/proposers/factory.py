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
``"local"``
    An LLM proposer over a model served on this machine by llama.cpp
    (:mod:`~tvm_llm_sched.serving.local_model`; the ``local-llm`` extra): ``gguf`` (default
    ``TVM_LLM_SCHED_GGUF``, else the bundled SmolLM2-135M-Instruct), ``port``, ``threads``,
    ``ctx``, ``seed``; the compact prompt profile and constrained decoding unless ``config`` (or
    ``TVM_LLM_SCHED_*``, see :meth:`LLMProposerConfig.from_env`) says otherwise. The server
    starts with the first such proposer of a process and stops when the last one is closed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from ..llm import (
    ChatClient,
    EndpointConfig,
    RecordingChatClient,
    RecordingStore,
    ReplayChatClient,
    RetryPolicy,
)
from ..llm.config import ENV_BASE_URL
from .base import Proposer
from .expert import ExpertPolicy
from .llm import MUTATOR_TASK, LLMProposer, LLMProposerConfig
from .random import RandomProposer

_ENDPOINT_ARGS = frozenset(f.name for f in dataclasses.fields(EndpointConfig))
_CLIENT_ARGS = frozenset({"retry", "budget", "max_concurrency", "max_reply_bytes", "http_client"})


LOCAL_MODEL_CONFIG = {
    "profile": "compact",
    "constrained": True,
    "max_tokens": 256,
    "k": 3,
    "repair_turns": 0,  # constrained replies always parse: a repair turn would only cost time
}
"""The :class:`LLMProposerConfig` of ``"local"`` (before ``TVM_LLM_SCHED_*`` overrides)."""


def _with_recording(backend: Any, record_to: str | os.PathLike[str] | None) -> Any:
    return backend if record_to is None else RecordingChatClient(backend, RecordingStore(record_to))


def _openai(
    *,
    config: LLMProposerConfig | None = None,
    record_to: str | os.PathLike[str] | None = None,
    local: bool | None = None,
    **kwargs: Any,
) -> LLMProposer:
    unknown = set(kwargs) - _ENDPOINT_ARGS - _CLIENT_ARGS
    if unknown:
        raise TypeError(
            f"create('openai') got unexpected arguments {sorted(unknown)}; it takes "
            f"{sorted(_ENDPOINT_ARGS | _CLIENT_ARGS | {'config', 'record_to', 'local'})}"
        )
    endpoint_args = {k: v for k, v in kwargs.items() if k in _ENDPOINT_ARGS}
    client_args = {k: v for k, v in kwargs.items() if k in _CLIENT_ARGS}
    if "base_url" in endpoint_args:
        if "model" not in endpoint_args:
            raise ValueError("create('openai', base_url=...) also needs model=...")
        endpoint = EndpointConfig(**endpoint_args)
    else:  # the environment names the endpoint; explicit arguments override single fields
        endpoint = dataclasses.replace(EndpointConfig.from_env(required=True), **endpoint_args)
    backend = _with_recording(ChatClient(endpoint, **client_args), record_to)
    config = config or LLMProposerConfig.from_env(json_mode=endpoint.json_mode)
    return LLMProposer(backend, config=config, local=local)


def _local(
    *,
    gguf: str | os.PathLike[str] | None = None,
    port: int = 0,
    threads: int = 0,
    ctx: int = 4096,
    seed: int = 0,
    config: LLMProposerConfig | None = None,
    record_to: str | os.PathLike[str] | None = None,
    **client_args: Any,
) -> LLMProposer:
    from ..serving.local_model import LocalModelSettings, gguf_from_env, lease_server

    unknown = set(client_args) - _CLIENT_ARGS
    if unknown:
        raise TypeError(f"create('local') got unexpected arguments {sorted(unknown)}")
    path = gguf if gguf is not None else gguf_from_env()
    settings = LocalModelSettings(
        gguf=None if path is None else os.fspath(path),
        port=port,
        threads=threads,
        ctx=ctx,
        seed=seed,
    )
    config = config or LLMProposerConfig.from_env(**LOCAL_MODEL_CONFIG)
    lease = lease_server(settings)
    try:
        server = lease.server
        endpoint = EndpointConfig(
            base_url=server.base_url,
            model=server.model,
            read_timeout=600.0,  # a long prompt on a busy 2-core CPU takes minutes, not hours
            extra_body={"seed": seed},
        )
        client_args.setdefault("retry", RetryPolicy(max_attempts=2))
        backend = _with_recording(ChatClient(endpoint, **client_args), record_to)
    except BaseException:
        lease.release()
        raise
    return LLMProposer(backend, config=config, local=True, lease=lease)


def _replay(
    *,
    path: str | os.PathLike[str],
    model: str | None = None,
    config: LLMProposerConfig | None = None,
    local: bool = False,
) -> LLMProposer:
    store = RecordingStore(path)
    requests = [entry.request for entry in store]
    if not requests:
        raise ValueError(f"create('replay'): no recordings in {os.fspath(path)!r}")
    # the settings are read off a step request (mutator-weight requests have their own)
    steps = [r for r in requests if _system_text(r.messages) != MUTATOR_TASK] or requests
    request = min(steps, key=lambda r: r.canonical_json())  # the same one whatever the order
    if config is None:  # ask exactly as the recorded run asked, or no request would match
        response_type = (request.response_format or {}).get("type")
        constrained = response_type == "json_schema"
        config = LLMProposerConfig(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            json_mode=response_type == "json_object",
            constrained=constrained,
            profile=_recorded_profile(request.messages),
            # a constrained reply always parses: no repair turn was ever needed
            repair_turns=0 if constrained else 1,
            mutator_advice=len(steps) < len(requests),
        )
    # ``local``: the recorded model ran on this machine, so the search took a local model's
    # call budget; the replay must take the same path
    backend = ReplayChatClient(store, model=model or request.model)
    return LLMProposer(backend, config=config, local=local)


def _system_text(messages: Any) -> str | None:
    return next((m.get("content") for m in messages if m.get("role") == "system"), None)


def _recorded_profile(messages: Any) -> str:
    """The prompt profile whose system prompt a recorded request sent (``full`` if none; a
    ``no-menu`` run shares ``full``'s system prompt and replays as ``full``)."""
    from .prompts import PROMPT_PROFILES, system_prompt

    sent = _system_text(messages)
    for name, profile in PROMPT_PROFILES.items():
        if sent == system_prompt(json_mode=profile.json_mode, compact=profile.compact):
            return name
    return "full"


PROPOSER_KINDS: dict[str, Callable[..., Proposer]] = {
    "openai": _openai,
    "expert": ExpertPolicy,
    "replay": _replay,
    "random": RandomProposer,
    "local": _local,
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
    ValueError: unknown proposer kind 'telepathy'; kinds are openai, expert, replay, random, local
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
