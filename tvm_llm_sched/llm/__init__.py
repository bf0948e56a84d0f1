"""Transport to language models: an OpenAI-compatible chat client, recording and replay.

Generic on purpose: messages in, reply text and token usage out. Proposers build prompts and
parse replies on top of a :class:`ChatBackend`.
"""

from .backend import ChatBackend, ChatReply, ChatRequest, Usage
from .client import ChatClient, parse_retry_after
from .config import Budget, EndpointConfig, RetryPolicy
from .httpx_errors import translate_httpx_error
from .recording import Recording, RecordingChatClient, RecordingStore, ReplayChatClient

__all__ = [
    "Budget",
    "ChatBackend",
    "ChatClient",
    "ChatReply",
    "ChatRequest",
    "EndpointConfig",
    "Recording",
    "RecordingChatClient",
    "RecordingStore",
    "ReplayChatClient",
    "RetryPolicy",
    "Usage",
    "parse_retry_after",
    "translate_httpx_error",
]
