"""The request's top-level fields: which are validated, which are keyed, which belong to the door.

Every field a client sends reaches the upstream as sent. The ones OpenAI documents are checked
here for type and range (one clear error naming the field); any other field (vLLM's ``top_k``,
``chat_template_kwargs``...) passes through unchecked. Every field is in the cache key except
the few in ``UNKEYED``, which name who asks or where the answer is kept, never what it says.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .errors import InvalidRequest

# Handled by the door (how the answer travels), never stored in a request.
TRANSPORT = frozenset({"stream", "stream_options"})
# Forwarded upstream but not in the cache key: they cannot change the answer.
UNKEYED = frozenset({"user", "safety_identifier", "prompt_cache_key", "metadata", "store", "service_tier"})


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _between(low: float, high: float) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if not _is_number(value) or not low <= value <= high:
            raise InvalidRequest(f"{name} must be between {_fmt(low)} and {_fmt(high)} (got {value!r})", name)

    return check


def _integer(low: int, high: int | None = None) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if type(value) is not int or value < low or (high is not None and value > high):
            span = f">= {low}" if high is None else f"from {low} to {high}"
            raise InvalidRequest(f"{name} must be an integer {span} (got {value!r})", name)

    return check


def _top_p(name: str, value: Any) -> None:
    if not _is_number(value) or not 0 < value <= 1:
        raise InvalidRequest(f"top_p must be greater than 0 and at most 1 (got {value!r})", name)


def _stop(name: str, value: Any) -> None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) and s for s in items):
        raise InvalidRequest(f"stop must be a non-empty string or a list of them (got {value!r})", name)
    if len(items) > 4:
        raise InvalidRequest(f"stop accepts at most 4 strings (got {len(items)})", name)


def _seed(name: str, value: Any) -> None:
    if type(value) is not int:
        raise InvalidRequest(f"seed must be an integer (got {value!r})", name)


def _boolean(name: str, value: Any) -> None:
    if type(value) is not bool:
        raise InvalidRequest(f"{name} must be true or false (got {value!r})", name)


def _object(name: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name} must be an object (got {type(value).__name__})", name)


def _string(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name} must be a non-empty string (got {value!r})", name)


def _one_of(*choices: str) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if value not in choices:
            raise InvalidRequest(f"{name} must be one of {', '.join(choices)} (got {value!r})", name)

    return check


def _strings(name: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise InvalidRequest(f"{name} must be a list of strings (got {value!r})", name)


def _response_format(name: str, value: Any) -> None:
    _object(name, value)
    kind = value.get("type")
    if not isinstance(kind, str):
        raise InvalidRequest(
            f"{name}.type must be a string such as 'json_object' (got {kind!r})", f"{name}.type"
        )
    if kind == "json_schema":
        _object(f"{name}.json_schema", value.get("json_schema"))


def _tools(name: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise InvalidRequest("tools must be a list of objects", name)
    for i, tool in enumerate(value):
        where = f"{name}[{i}]"
        kind = tool.get("type", "function")
        if kind == "function":
            fn = tool.get("function")
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
                raise InvalidRequest(
                    f"{where}.function.name must be a non-empty string", f"{where}.function.name"
                )
            parameters = fn.get("parameters")
            if parameters is not None and not isinstance(parameters, dict):
                raise InvalidRequest(
                    f"{where}.function.parameters must be an object", f"{where}.function.parameters"
                )
        elif not isinstance(kind, str):
            raise InvalidRequest(f"{where}.type must be a string (got {kind!r})", f"{where}.type")


def _tool_choice(name: str, value: Any) -> None:
    if isinstance(value, str):
        if value not in ("none", "auto", "required"):
            raise InvalidRequest(f"{name} must be none, auto, required or an object (got {value!r})", name)
        return
    _object(name, value)
    if not isinstance(value.get("type"), str):
        raise InvalidRequest(f"{name}.type must be a string such as 'function'", f"{name}.type")


def _function_call(name: str, value: Any) -> None:
    if isinstance(value, str):
        if value not in ("none", "auto"):
            raise InvalidRequest(f"{name} must be none, auto or an object (got {value!r})", name)
        return
    _object(name, value)


def _functions(name: str, value: Any) -> None:
    """The legacy ``functions`` list: each item is what ``tools[i].function`` holds today."""
    if not isinstance(value, list):
        raise InvalidRequest("functions must be a list of objects", name)
    _tools(name, [{"type": "function", "function": f} for f in value])


def _logit_bias(name: str, value: Any) -> None:
    _object(name, value)
    for token, bias in value.items():
        if not _is_number(bias) or not -100 <= bias <= 100:
            raise InvalidRequest(f"{name}[{token!r}] must be between -100 and 100 (got {bias!r})", name)


# Each documented field of the Chat Completions create call, with its check.
CHECKS: dict[str, Callable[[str, Any], None]] = {
    "temperature": _between(0.0, 2.0),
    "top_p": _top_p,
    "max_tokens": _integer(1),
    "max_completion_tokens": _integer(1),
    "n": _integer(1, 128),
    "stop": _stop,
    "seed": _seed,
    "presence_penalty": _between(-2.0, 2.0),
    "frequency_penalty": _between(-2.0, 2.0),
    "logit_bias": _logit_bias,
    "logprobs": _boolean,
    "top_logprobs": _integer(0, 20),
    "response_format": _response_format,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "parallel_tool_calls": _boolean,
    "functions": _functions,
    "function_call": _function_call,
    "reasoning_effort": _string,
    "verbosity": _one_of("low", "medium", "high"),
    "modalities": _strings,
    "audio": _object,
    "prediction": _object,
    "web_search_options": _object,
    "user": _string,
    "safety_identifier": _string,
    "prompt_cache_key": _string,
    "metadata": _object,
    "store": _boolean,
    "service_tier": _string,
}

# Numeric fields whose key form is a float, so 1 and 1.0 (the same value) share an entry.
FLOATS = frozenset({"temperature", "top_p", "presence_penalty", "frequency_penalty"})


def check(name: str, value: Any) -> None:
    """Validate one known field (unknown names pass)."""
    rule = CHECKS.get(name)
    if rule is not None:
        rule(name, value)
