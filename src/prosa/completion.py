"""A streamed answer's chunks -> the whole ``chat.completion``, as OpenAI would have sent it.

Every delta field is merged the way the openai SDK merges them (strings concatenate, lists of
indexed objects merge by ``index``, other lists extend), for every choice; so tool calls,
refusals, logprobs, reasoning text and fields no one has named yet come out whole. A streamed
answer and a whole one are therefore two views of one record.
"""

from __future__ import annotations

from typing import Any

# Replaced, never concatenated, when a delta repeats them (some servers repeat the role each chunk).
_REPLACE = frozenset({"index", "type", "role", "id"})


# Chunk fields that describe one chunk, not the answer (obfuscation: OpenAI's random padding).
_PER_CHUNK = frozenset({"id", "created", "object", "obfuscation"})


def merge(acc: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """Merge one delta into an accumulated object (in place) and return it."""
    for key, value in delta.items():
        old = acc.get(key)
        if old is None or key in _REPLACE:
            acc[key] = _copy(value)
        elif value is None:
            continue
        elif isinstance(old, str) and isinstance(value, str):
            # A tool's name repeated whole in every fragment (some servers do) is kept once.
            acc[key] = old if key == "name" and old == value else old + value
        elif isinstance(old, dict) and isinstance(value, dict):
            merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            for item in value:
                index = item.get("index") if isinstance(item, dict) else None
                if type(index) is int:
                    while len(old) <= index:
                        old.append(None)
                    if isinstance(old[index], dict):
                        merge(old[index], item)
                    else:
                        old[index] = _copy(item)
                else:
                    old.append(_copy(item))
        else:
            acc[key] = _copy(value)
    return acc


def _copy(value: Any) -> Any:
    """A deep copy of plain JSON values (faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole completion (without ``id`` and ``created``, which each answer renews) from chunk data."""
    top: dict[str, Any] = {"object": "chat.completion", "model": None, "choices": []}
    choices: dict[int, dict[str, Any]] = {}
    for data in chunks:
        for name, value in data.items():
            if name == "choices":
                for choice in value or ():  # some servers send "choices": null with the usage
                    _add_choice(choices, choice)
            elif name not in _PER_CHUNK and value is not None:
                top[name] = value
    top["choices"] = [_finish_choice(choices[i]) for i in sorted(choices)]
    top.setdefault("usage", None)
    return top


def _add_choice(choices: dict[int, dict[str, Any]], choice: dict[str, Any]) -> None:
    index = choice.get("index", 0)
    acc = choices.get(index)
    if acc is None:
        acc = choices[index] = {"index": index, "message": {}, "logprobs": None, "finish_reason": None}
    for name, value in choice.items():
        if name == "delta":
            if value:
                merge(acc["message"], value)
        elif name == "logprobs":
            if value is not None:
                if acc["logprobs"] is None:
                    acc["logprobs"] = {}
                merge(acc["logprobs"], value)
        elif name != "index" and value is not None:
            acc[name] = value


def _finish_choice(acc: dict[str, Any]) -> dict[str, Any]:
    message = acc["message"]
    message.setdefault("role", "assistant")
    message.setdefault("content", None)
    message.setdefault("refusal", None)
    calls = message.get("tool_calls")
    if calls is not None:
        # A whole message's tool calls carry no stream index; a streamed type may have been left out.
        message["tool_calls"] = [
            {
                "id": call.get("id"),
                "type": call.get("type") or "function",
                **{k: v for k, v in call.items() if k != "index"},
            }
            for call in calls
            if call is not None
        ]
    if message["content"] == "" and (calls or message["refusal"] or message.get("function_call")):
        message["content"] = None  # as a whole answer says it: no text, only the calls
    ordered = {"role": message.pop("role"), "content": message.pop("content"), **message}
    acc["message"] = ordered
    return acc


def delta_text(data: dict[str, Any]) -> str:
    """The content text a chunk adds to the first choice."""
    for choice in data.get("choices") or ():
        if choice.get("index", 0) == 0:
            delta = choice.get("delta")
            if delta:
                text = delta.get("content")
                if type(text) is str:
                    return text
            return ""
    return ""
