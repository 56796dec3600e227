"""OpenAI Chat Completions JSON <-> prosa: the request body in, `chat.completion(.chunk)` JSON out.

Parsing only separates what belongs to the HTTP door (``stream``, ``stream_options``) from the
request itself; every other field goes to ``ChatRequest.build`` as sent (validated there, by the
same rules as every door) and on to the upstream. Rendering writes each chunk's recorded data under
a fresh ``id``/``created``: a miss relays the upstream's chunks as they come, a hit replays the same
records, so both send the same sequence, and a whole answer is the same records assembled.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest

DONE = b"data: [DONE]\n\n"
DOOR_FIELDS = ("model", "messages", "stream", "stream_options")

# ASCII-only JSON (non-ASCII as \u escapes): always valid UTF-8, even for a lone surrogate from upstream.
_dumps = dumps_ascii = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(slots=True)
class ChatArgs:
    """A chat completion body, reshaped for ``AsyncClient.prepare``."""

    messages: list[Any]
    model: str
    params: dict[str, Any]
    stream: bool
    include_usage: bool


def parse_chat(data: Any) -> ChatArgs:
    """Reshape a decoded body; raise InvalidRequest (400) for a body that is not a chat request."""
    if not isinstance(data, dict):
        raise InvalidRequest("the request body must be a JSON object", None)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("model is required: a non-empty string such as 'local'", "model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages is required: a non-empty list of {role, content} objects", "messages")
    stream = data.get("stream")
    if stream is None:
        stream = False
    elif not isinstance(stream, bool):
        raise InvalidRequest(f"stream must be true or false (got {stream!r})", "stream")
    include_usage = False
    options = data.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise InvalidRequest("stream_options must be an object", "stream_options")
        usage = options.get("include_usage")
        if usage is not None and not isinstance(usage, bool):
            raise InvalidRequest(
                "stream_options.include_usage must be true or false", "stream_options.include_usage"
            )
        include_usage = usage is True
    params = {k: v for k, v in data.items() if k not in DOOR_FIELDS}
    return ChatArgs(messages, model, params, stream, include_usage)


def completion_id() -> str:
    return "chatcmpl-" + os.urandom(12).hex()


def _tail(data: dict[str, Any], skip: str) -> bytes:
    """``data`` as JSON without its opening brace (and without the field ``skip``), to follow a prefix."""
    body = _dumps({k: v for k, v in data.items() if k != skip} if skip in data else data)
    return b"}" if body == "{}" else b"," + body[1:].encode()


def chunk_tail(data: dict[str, Any], include_usage: bool) -> bytes | None:
    """One recorded chunk as the end of an SSE frame; None for the usage chunk the client did not ask for."""
    if include_usage:
        return _tail(data, "")
    if not data.get("choices") and data.get("usage") is not None:
        return None
    return _tail(data, "usage")


def chunk_tails(records: list[dict[str, Any]], include_usage: bool) -> list[bytes]:
    return [t for t in (chunk_tail(d, include_usage) for d in records) if t is not None]


class Frames:
    """The SSE frames of one answer: every chunk under the same fresh id and creation time."""

    __slots__ = ("_head",)

    def __init__(self) -> None:
        self._head = (
            f'data: {{"id":"{completion_id()}","object":"chat.completion.chunk","created":{int(time.time())}'
        ).encode()

    def frame(self, tail: bytes) -> bytes:
        return self._head + tail + b"\n\n"

    def replay(self, tails: list[bytes]) -> bytes:
        """A whole recorded stream as one SSE body, ending with [DONE]."""
        head = self._head
        return b"".join([head + t + b"\n\n" for t in tails]) + DONE


def completion_tail(completion: dict[str, Any]) -> bytes:
    """An assembled completion as the end of a ``chat.completion`` body (after id, object, created)."""
    return _tail(completion, "object")


def completion_body(tail: bytes) -> bytes:
    """A whole ``chat.completion`` body under a fresh id."""
    return (
        b'{"id":"%s","object":"chat.completion","created":%d' % (completion_id().encode(), int(time.time()))
        + tail
    )


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> bytes:
    """OpenAI's error shape: {"error": {"message", "type", "param", "code"}}."""
    return _dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


def error_frame(message: str, kind: str, code: str | None = None) -> bytes:
    """An error inside a stream that has already started (the openai SDK raises it as an APIError)."""
    return b"data: " + error_body(message, kind, None, code) + b"\n\n"
