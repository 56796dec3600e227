"""OpenAI Chat Completions JSON <-> prosa: the request body in, `chat.completion(.chunk)` JSON out.

Parsing only reshapes the body into the arguments of ``AsyncClient.prepare``; every value is
validated by ``ChatRequest.build``, the same rules as every other door. Rendering is deterministic:
a stream is a role chunk, one chunk per prosa chunk with text, a finish chunk, then (when asked) a
usage chunk. A hit and a miss of the same answer therefore send the same sequence.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

from ..errors import InvalidRequest
from ..reply import Usage
from ..request import ChatRequest

# Output-changing parameters taken from the body as they are (ChatRequest validates them);
# max_tokens is read apart, because newer clients send it as max_completion_tokens.
PARAMS = tuple(name for name in ChatRequest.PARAMS if name != "max_tokens")
DONE = b"data: [DONE]\n\n"

# ASCII-only JSON (non-ASCII as \u escapes): always valid UTF-8, even for a lone surrogate from upstream.
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_string: Any = encode_basestring_ascii  # a str as a JSON string literal (C-accelerated), for the templates


@dataclass(slots=True)
class ChatArgs:
    """A chat completion body, reshaped for ``AsyncClient.prepare``."""

    messages: list[Any]
    model: str
    params: dict[str, Any]
    stream: bool
    include_usage: bool


def parse_chat(data: Any) -> ChatArgs:
    """Reshape a decoded body; raise InvalidRequest (400) for what the core cannot express.

    Unknown fields (``user``, ``metadata``, ``logprobs``...) are ignored, as OpenAI-compatible
    servers commonly do.
    """
    if not isinstance(data, dict):
        raise InvalidRequest("the request body must be a JSON object", None)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("model is required: a non-empty string such as 'local'", "model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages is required: a non-empty list of {role, content} objects", "messages")
    n = data.get("n")
    if n is not None and n != 1:
        raise InvalidRequest(f"n must be 1: this gateway returns one choice (got {n!r})", "n")
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
        include_usage = options.get("include_usage") is True
    params = {name: data.get(name) for name in PARAMS}
    max_tokens = data.get("max_tokens")
    params["max_tokens"] = data.get("max_completion_tokens") if max_tokens is None else max_tokens
    return ChatArgs([_message(m) for m in messages], model, params, stream, include_usage)


def _message(item: Any) -> Any:
    """The core takes {role, content: str}; flatten text parts and map the newer 'developer' role."""
    if not isinstance(item, dict):
        return item  # the core names the problem
    role, content = item.get("role"), item.get("content")
    if isinstance(content, str) and role != "developer":
        return item
    if isinstance(content, list):
        parts = []
        for part in content:
            if (
                not isinstance(part, dict)
                or part.get("type") != "text"
                or not isinstance(part.get("text"), str)
            ):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise InvalidRequest(f"only text content parts are supported (got {kind!r})", "messages")
            parts.append(part["text"])
        content = "".join(parts)
    return {"role": "system" if role == "developer" else role, "content": content}


def completion_id() -> str:
    return "chatcmpl-" + os.urandom(12).hex()


def usage_dict(usage: Usage) -> dict[str, int]:
    p, c = usage.prompt_tokens, usage.completion_tokens
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


# %-formatting keeps the JSON braces readable (an f-string would double every one of them).
_COMPLETION = (
    '{"id":"%s","object":"chat.completion","created":%d,"model":%s,"choices":[{"index":0,"message":'
    '{"role":"assistant","content":%s,"refusal":null},"logprobs":null,"finish_reason":%s}],'
    '"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d},"system_fingerprint":null}'
)
_USAGE_TAIL = '],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}\n\n'


def completion(model: str, text: str, finish: str | None, usage: Usage) -> bytes:
    """A whole ``chat.completion`` body, from a template: only the strings are JSON-encoded."""
    p, c = usage.prompt_tokens, usage.completion_tokens
    values = (
        completion_id(),
        time.time(),
        _string(model),
        _string(text),
        _string(finish or "stop"),
        p,
        c,
        p + c,
    )
    return (_COMPLETION % values).encode()


class ChunkFrames:
    """SSE frames of one streamed answer, built from fixed byte templates (only the text is encoded)."""

    __slots__ = ("_head", "_content")

    def __init__(self, model: str) -> None:
        head = (
            f'data: {{"id":"{completion_id()}","object":"chat.completion.chunk","created":{int(time.time())},'
            f'"model":{_string(model)},"system_fingerprint":null,"choices":['
        )
        self._head = head.encode()
        self._content = self._head + b'{"index":0,"delta":{"content":'

    def role(self) -> bytes:
        return (
            self._head
            + b'{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n'
        )

    def content(self, text: str) -> bytes:
        return self._content + _string(text).encode() + b'},"logprobs":null,"finish_reason":null}]}\n\n'

    def finish(self, reason: str | None) -> bytes:
        body = _string(reason or "stop").encode()
        return self._head + b'{"index":0,"delta":{},"logprobs":null,"finish_reason":' + body + b"}]}\n\n"

    def usage(self, usage: Usage) -> bytes:
        p, c = usage.prompt_tokens, usage.completion_tokens
        return self._head + (_USAGE_TAIL % (p, c, p + c)).encode()


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> bytes:
    """OpenAI's error shape: {"error": {"message", "type", "param", "code"}}."""
    return _dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


def error_frame(message: str, kind: str, code: str | None = None) -> bytes:
    """An error inside a stream that has already started (the openai SDK raises it as an APIError)."""
    return b"data: " + error_body(message, kind, None, code) + b"\n\n"
