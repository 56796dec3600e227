"""A Responses API request -> the Chat Completions request prosa's core answers (and caches).

``input`` (a string, or items: messages with input_text/input_image/input_file parts,
``function_call`` and ``function_call_output`` items), ``instructions``, function ``tools``,
``tool_choice``, ``max_output_tokens``, ``temperature``, ``top_p``, ``text.format`` (a JSON
schema), ``parallel_tool_calls``, ``reasoning.effort``, ``user``, ``metadata`` and
``previous_response_id`` are translated; a field this translation cannot honour is refused by
name, never dropped.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequest

# Fields of the Responses create call that are the door's or the translation's own.
HANDLED = frozenset({
    "model", "input", "instructions", "previous_response_id", "tools", "tool_choice", "max_output_tokens",
    "temperature", "top_p", "text", "parallel_tool_calls", "reasoning", "user", "metadata", "store",
    "stream", "safety_identifier", "prompt_cache_key", "service_tier", "seed",
})  # fmt: skip
_PART_TYPES = {"input_text": "text", "output_text": "text"}


def to_chat(
    body: dict[str, Any], history: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(chat messages, chat fields) for a Responses body; ``history`` is the stored conversation of
    ``previous_response_id`` (its inputs and outputs, without its instructions)."""
    unknown = sorted(k for k, v in body.items() if k not in HANDLED and v is not None)
    if unknown:
        raise InvalidRequest(
            f"{unknown[0]} is not supported by prosa's Responses API (it answers through Chat Completions)",
            unknown[0],
        )
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str) or not instructions.strip():
            raise InvalidRequest("instructions must be a non-empty string", "instructions")
        messages.append({"role": "system", "content": instructions})
    messages += history
    messages += input_messages(body.get("input"))
    return messages, _fields(body)


def input_messages(value: Any) -> list[dict[str, Any]]:
    """The ``input`` of a Responses request as chat messages."""
    if isinstance(value, str):
        if not value.strip():
            raise InvalidRequest("input must not be empty", "input")
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise InvalidRequest("input is required: a string or a list of input items", "input")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where} must be an object", where)
        kind = item.get("type", "message")
        if kind == "message":
            out.append(_message(item, where))
        elif kind == "function_call":
            call = {"id": _str(item, "call_id", where), "type": "function",
                    "function": {"name": _str(item, "name", where), "arguments": _str(item, "arguments", where, True)}}  # fmt: skip
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)  # parallel calls are one assistant turn
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            if not isinstance(output, str):
                raise InvalidRequest(f"{where}.output must be a string", f"{where}.output")
            out.append({"role": "tool", "tool_call_id": _str(item, "call_id", where), "content": output})
        else:
            raise InvalidRequest(
                f"{where}.type {kind!r} is not supported by prosa's Responses API", f"{where}.type"
            )
    return out


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in ("user", "system", "developer", "assistant"):
        raise InvalidRequest(
            f"{where}.role must be user, system, developer or assistant (got {role!r})", f"{where}.role"
        )
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list) or not content:
        raise InvalidRequest(f"{where}.content must be a string or a list of parts", f"{where}.content")
    parts = []
    for j, part in enumerate(content):
        path = f"{where}.content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _PART_TYPES:
            parts.append({"type": "text", "text": _str(part, "text", path, True)})
        elif kind == "input_image":
            image = {"url": _str(part, "image_url", path)}
            if part.get("detail") is not None:
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            file = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k) is not None}
            parts.append({"type": "file", "file": file})
        elif kind == "refusal":
            parts.append({"type": "refusal", "refusal": _str(part, "refusal", path, True)})
        else:
            raise InvalidRequest(
                f"{path}.type {kind!r} is not supported by prosa's Responses API", f"{path}.type"
            )
    if role == "assistant" and all(p["type"] == "text" for p in parts):
        return {"role": role, "content": "".join(p["text"] for p in parts)}
    return {"role": role, "content": parts}


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("temperature", "top_p", "parallel_tool_calls", "user", "metadata", "seed",
                 "safety_identifier", "prompt_cache_key", "service_tier"):  # fmt: skip
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("max_output_tokens") is not None:
        out["max_tokens"] = body["max_output_tokens"]
    tools = body.get("tools")
    if tools is not None:
        out["tools"] = [
            _tool(t, f"tools[{i}]") for i, t in enumerate(tools if isinstance(tools, list) else [tools])
        ]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        out["tool_choice"] = {"type": "function", "function": {"name": _str(choice, "name", "tool_choice")}}
    elif choice is not None:
        out["tool_choice"] = choice
    text = body.get("text")
    if text is not None:
        fmt = text.get("format") if isinstance(text, dict) else None
        if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
            raise InvalidRequest("text.format.type must be text, json_object or json_schema", "text.format")
        if fmt["type"] == "json_schema":
            schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
            out["response_format"] = {"type": "json_schema", "json_schema": schema}
        elif fmt["type"] == "json_object":
            out["response_format"] = {"type": "json_object"}
        if set(text) - {"format"}:
            extra = sorted(set(text) - {"format"})[0]
            raise InvalidRequest(f"text.{extra} is not supported by prosa's Responses API", f"text.{extra}")
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        out["reasoning_effort"] = reasoning["effort"]
    return out


def _tool(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else type(tool).__name__
        raise InvalidRequest(f"{where}: only function tools are supported here (got {kind!r})", where)
    function = {"name": _str(tool, "name", where)}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def _str(obj: dict[str, Any], key: str, where: str, empty: bool = False) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or (not empty and not value):
        raise InvalidRequest(
            f"{where}.{key} must be a {'' if empty else 'non-empty '}string", f"{where}.{key}"
        )
    return value
