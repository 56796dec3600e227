"""Message: one turn of a conversation, every role and field of the Chat Completions API.

A plain ``{"role", "content": str}`` turn is kept as two strings (it is made on every request).
Any other turn (content parts, tool calls, a tool result, a ``name``...) keeps the whole mapping
as the client sent it, validated for shape and copied into plain JSON values, so every field
reaches the upstream and the cache key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import InvalidRequest

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_ROLE_LIST = ", ".join(ROLES)
# Content part types, by the roles that may send them (OpenAI's rules); others pass through unchecked.
PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")


class Message(NamedTuple):
    """One message. ``content`` is a string, a tuple of content parts, or None (an assistant turn
    that only calls tools). ``data`` is the whole message as sent when it has more than role and
    string content (else None)."""

    role: str
    content: Any
    data: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The message's text: the string content, or its text parts joined."""
        content = self.content
        if type(content) is str:
            return content
        if not content:
            return ""
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")

    def to_dict(self) -> dict[str, Any]:
        if self.data is not None:
            return self.data
        return {"role": self.role, "content": self.content}


MAX_DEPTH = 64  # nesting deeper than any real schema or message: refused, not a RecursionError


def plain(value: Any, where: str, depth: int = 0) -> Any:
    """A deep copy of ``value`` as plain JSON values (dict with str keys, list, str, finite number,
    bool, None); InvalidRequest naming ``where`` for anything else."""
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise InvalidRequest(f"{where} must be a finite number (got {value!r})", where)
        return value
    if depth > MAX_DEPTH and isinstance(value, (Mapping, list, tuple)):
        root = where.split(".")[0].split("[")[0]
        raise InvalidRequest(f"{root} is nested more than {MAX_DEPTH} levels deep", root)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise InvalidRequest(f"{where} keys must be strings (got {k!r})", where)
            out[k] = plain(v, f"{where}.{k}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, (int, float)):  # int/float subclasses (numpy scalars are not; they fail below)
        return plain(int(value) if isinstance(value, int) else float(value), where)
    raise InvalidRequest(f"{where} must be a JSON value (got {kind.__name__})", where)


def message(item: Any, where: str) -> Message:
    """Validate one message given as a mapping, a Message, or a Reply (the assistant turn it was)."""
    if isinstance(item, Message):
        return item
    as_message = getattr(item, "message", None)  # a Reply: pass it back as the assistant's turn
    if as_message is not None and not isinstance(item, Mapping):
        item = as_message
    if not isinstance(item, Mapping):
        raise InvalidRequest(
            f"{where} must be a {{'role': ..., 'content': ...}} mapping (got {type(item).__name__})", where
        )
    role = item.get("role")
    content = item.get("content")
    if len(item) == 2 and type(content) is str and role in ("user", "system", "assistant", "developer"):
        if not content.strip() and role != "assistant":
            raise InvalidRequest(f"{where} content must not be empty", f"{where}.content")
        return Message(role, content)  # the common turn, kept short
    if role not in ROLES:
        raise InvalidRequest(f"{where} role must be one of {_ROLE_LIST} (got {role!r})", f"{where}.role")
    data = plain(item, where)
    content = data.get("content")
    _check_content(role, content, data, where)
    _check_fields(role, data, where)
    parts = tuple(content) if isinstance(content, list) else content
    return Message(role, parts, data)


def _check_content(role: str, content: Any, data: dict[str, Any], where: str) -> None:
    path = f"{where}.content"
    if isinstance(content, str):
        if not content.strip() and role in ("system", "developer", "user"):
            raise InvalidRequest(f"{where} content must not be empty", path)
        return
    if content is None:
        if role == "assistant" and any(
            data.get(k) for k in ("tool_calls", "function_call", "refusal", "audio")
        ):
            return
        if role == "function" and "content" in data:
            return
        raise InvalidRequest(
            f"{path} is required: a string or a list of content parts"
            + (" (or tool_calls for an assistant turn)" if role == "assistant" else ""),
            path,
        )
    if not isinstance(content, list):
        raise InvalidRequest(
            f"{path} must be a string or a list of content parts (got {type(content).__name__})", path
        )
    if not content:
        raise InvalidRequest(f"{path} must not be an empty list", path)
    allowed = {"user": PART_TYPES[:4], "assistant": ("text", "refusal")}.get(role, ("text",))
    for i, part in enumerate(content):
        _check_part(part, f"{path}[{i}]", role, allowed)


def _check_part(part: Any, where: str, role: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(part, dict):
        raise InvalidRequest(f"{where} must be an object with a 'type' (got {type(part).__name__})", where)
    kind = part.get("type")
    if not isinstance(kind, str):
        raise InvalidRequest(f"{where}.type must be a string such as 'text' (got {kind!r})", f"{where}.type")
    if kind in PART_TYPES and kind not in allowed:
        raise InvalidRequest(
            f"{where}: a {role} message takes {' or '.join(allowed)} parts (got {kind!r})", f"{where}.type"
        )
    if kind == "text" or kind == "refusal":
        _string(part.get(kind), f"{where}.{kind}")
    elif kind == "image_url":
        image = _object(part.get("image_url"), f"{where}.image_url")
        _string(image.get("url"), f"{where}.image_url.url", nonempty=True)
        detail = image.get("detail")
        if detail is not None and detail not in ("auto", "low", "high"):
            raise InvalidRequest(
                f"{where}.image_url.detail must be auto, low or high (got {detail!r})",
                f"{where}.image_url.detail",
            )
    elif kind == "input_audio":
        audio = _object(part.get("input_audio"), f"{where}.input_audio")
        _string(audio.get("data"), f"{where}.input_audio.data", nonempty=True)
        _string(audio.get("format"), f"{where}.input_audio.format", nonempty=True)
    elif kind == "file":
        file = _object(part.get("file"), f"{where}.file")
        if not any(isinstance(file.get(k), str) and file.get(k) for k in ("file_data", "file_id")):
            raise InvalidRequest(f"{where}.file needs file_data or file_id (a string)", f"{where}.file")


def _check_fields(role: str, data: dict[str, Any], where: str) -> None:
    name = data.get("name")
    if name is not None:
        _string(name, f"{where}.name", nonempty=True)
    elif role == "function":
        raise InvalidRequest(f"{where}.name is required for a function message", f"{where}.name")
    if role == "tool":
        _string(data.get("tool_call_id"), f"{where}.tool_call_id", nonempty=True)
    calls = data.get("tool_calls")
    if calls is not None:
        if role != "assistant":
            raise InvalidRequest(f"{where}.tool_calls is only for assistant messages", f"{where}.tool_calls")
        if not isinstance(calls, list):
            raise InvalidRequest(f"{where}.tool_calls must be a list", f"{where}.tool_calls")
        for i, call in enumerate(calls):
            _check_tool_call(call, f"{where}.tool_calls[{i}]")
    function_call = data.get("function_call")
    if function_call is not None:
        fc = _object(function_call, f"{where}.function_call")
        _string(fc.get("name"), f"{where}.function_call.name", nonempty=True)
        _string(fc.get("arguments"), f"{where}.function_call.arguments")
    refusal = data.get("refusal")
    if refusal is not None:
        _string(refusal, f"{where}.refusal")
    audio = data.get("audio")
    if audio is not None:
        _string(_object(audio, f"{where}.audio").get("id"), f"{where}.audio.id", nonempty=True)


def _check_tool_call(call: Any, where: str) -> None:
    call = _object(call, where)
    _string(call.get("id"), f"{where}.id", nonempty=True)
    kind = call.get("type", "function")
    if kind == "function":
        fn = _object(call.get("function"), f"{where}.function")
        _string(fn.get("name"), f"{where}.function.name", nonempty=True)
        _string(fn.get("arguments"), f"{where}.function.arguments")
    elif kind == "custom":
        custom = _object(call.get("custom"), f"{where}.custom")
        _string(custom.get("name"), f"{where}.custom.name", nonempty=True)
        _string(custom.get("input"), f"{where}.custom.input")
    else:
        raise InvalidRequest(f"{where}.type must be 'function' or 'custom' (got {kind!r})", f"{where}.type")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        got = "nothing" if value is None else type(value).__name__
        raise InvalidRequest(f"{where} must be an object (got {got})", where)
    return value


def _string(value: Any, where: str, nonempty: bool = False) -> str:
    if not isinstance(value, str) or (nonempty and not value):
        got = "nothing" if value is None else repr(value) if isinstance(value, str) else type(value).__name__
        what = "a non-empty string" if nonempty else "a string"
        raise InvalidRequest(f"{where} must be {what} (got {got})", where)
    return value
