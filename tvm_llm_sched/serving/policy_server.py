"""Serve a proposer (by default the embedded expert policy) as an OpenAI-compatible chat endpoint.

A request's last ``situation`` block (see :func:`~tvm_llm_sched.proposers.prompts.user_prompt`)
is turned back into a :class:`~tvm_llm_sched.proposers.base.Situation`, the proposer answers it,
and the reply is the proposal in the prompt's reply format. So an
:class:`~tvm_llm_sched.proposers.llm.LLMProposer` pointed at this server behaves like the proposer
it serves, through the same HTTP, parsing and validation path as a real model.
"""

from __future__ import annotations

import json
from typing import Any

from ..proposers.base import Proposer
from ..proposers.expert import ExpertPolicy
from ..proposers.prompts import format_reply, parse_prompt
from .http_server import RequestHandler, error_body
from .openai_server import CHAT_PATH, OpenAICompatServer, Responder


def policy_responder(proposer: Proposer | None = None) -> Responder:
    """A responder for :class:`~tvm_llm_sched.serving.OpenAICompatServer` answering with a proposer.

    Parameters
    ----------
    proposer : Proposer | None
        Answers each situation; the embedded ``ExpertPolicy()`` by default.

    Returns
    -------
    Callable[[list[dict], dict], str]
        ``respond(messages, request)``: raises ``ValueError`` when the messages hold no situation
        (:class:`PolicyServer` answers those with HTTP 400 before calling it). A request with
        ``response_format`` gets a bare JSON reply.
    """
    if proposer is None:
        proposer = ExpertPolicy()

    def respond(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
        asked = parse_prompt(messages)
        proposal = proposer.propose(asked.situation, k=asked.k)
        return format_reply(proposal, json_mode=request.get("response_format") is not None)

    return respond


class PolicyServer(OpenAICompatServer):
    """:class:`~tvm_llm_sched.serving.OpenAICompatServer` that answers a chat request without a
    situation with an OpenAI-style HTTP 400 instead of a 500.

    Parameters
    ----------
    proposer : Proposer | None
        See :func:`policy_responder`.
    **kwargs
        ``host``, ``port``, ``model`` as for :class:`~tvm_llm_sched.serving.OpenAICompatServer`.

    Examples
    --------
    >>> import httpx
    >>> from tvm_llm_sched.proposers.base import Proposal, Proposer
    >>> class Nothing(Proposer):
    ...     def propose(self, situation, *, k=4, validate=None):
    ...         return Proposal()
    >>> with PolicyServer(Nothing()) as server:
    ...     body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    ...     httpx.post(server.base_url + "/chat/completions", json=body).status_code
    400
    """

    def __init__(self, proposer: Proposer | None = None, **kwargs: Any):
        kwargs.setdefault("model", "expert-policy")
        super().__init__(policy_responder(proposer), **kwargs)

    def handle(self, handler: RequestHandler) -> None:
        """Refuse chat requests without a situation; everything else as the base server."""
        problem = _missing_situation(handler) if handler.command == "POST" else None
        if problem is not None:
            handler.send_json(400, error_body(problem, param="messages"))
            return
        super().handle(handler)


def _missing_situation(handler: RequestHandler) -> str | None:
    """Why a well-formed chat request carries no usable situation (``None`` if it does, or if
    the request is malformed in a way the base server reports itself)."""
    if handler.path.split("?", 1)[0].rstrip("/") != CHAT_PATH:
        return None
    try:
        messages = json.loads(handler.body).get("messages")
    except (ValueError, AttributeError):
        return None
    if not isinstance(messages, list) or not messages:
        return None
    try:
        parse_prompt(messages)
    except ValueError as exc:
        return str(exc)
    return None
