"""ChatRequest: the one validated, canonical request every door builds.

CLI flags, Python keyword arguments, HTTP JSON and LangChain messages are all turned into a
``ChatRequest`` here, so validation and defaults live in one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring as _quote  # the C string escaper
from typing import Any, NamedTuple, Union

from ._record import Record
from .errors import InvalidRequest

ROLES = ("system", "user", "assistant")
LOCAL_MODEL_NAMES = ("local", "smollm2")

MessageInput = Union[str, Mapping[str, Any], "Message"]  # noqa: UP007 - a runtime alias on Python 3.10
PromptInput = Union[str, Sequence[MessageInput]]  # noqa: UP007


class Message(NamedTuple):
    """One message of a conversation (immutable; a NamedTuple because it is made on every request)."""

    role: str
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


class ChatRequest(Record):
    """A validated chat request. Build it with :meth:`ChatRequest.build`; treat it as immutable."""

    # Parameters that can change the output, in canonical order. Everything here is in the cache key.
    PARAMS = (
        "temperature",
        "max_tokens",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "tools",
    )
    __slots__ = ("messages", "model", *PARAMS, "_canonical")

    def __init__(
        self,
        messages: tuple[Message, ...],
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: tuple[str, ...] | None = None,
        seed: int | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        response_format: Mapping[str, Any] | None = None,
        tools: tuple[Mapping[str, Any], ...] | None = None,
    ) -> None:
        self.messages = messages
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.top_p = top_p
        self.stop = stop
        self.seed = seed
        self.presence_penalty = presence_penalty
        self.frequency_penalty = frequency_penalty
        self.response_format = response_format
        self.tools = tools
        self._canonical: bytes | None = None

    @classmethod
    def build(
        cls,
        prompt: PromptInput,
        *,
        model: str,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        response_format: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> ChatRequest:
        """Validate the prompt or messages and every parameter; raise InvalidRequest on the first problem.

        ``prompt`` is a question string (sent as one user message) or a list of messages given as
        ``{"role": ..., "content": ...}`` dicts or :class:`Message`. ``system`` adds a system message first.
        """
        messages = _messages(prompt, system)
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("model must be a non-empty string", "model")
        return cls(
            messages=messages,
            model=model.strip(),
            temperature=_number("temperature", temperature, 0.0, 2.0),
            max_tokens=_max_tokens(max_tokens),
            top_p=_top_p(top_p),
            stop=_stop(stop),
            seed=_seed(seed),
            presence_penalty=_number("presence_penalty", presence_penalty, -2.0, 2.0),
            frequency_penalty=_number("frequency_penalty", frequency_penalty, -2.0, 2.0),
            response_format=_mapping("response_format", response_format),
            tools=_tools(tools),
        )

    @property
    def is_local(self) -> bool:
        return self.model.lower() in LOCAL_MODEL_NAMES

    @property
    def deterministic(self) -> bool:
        """True when the same request should give the same answer (temperature 0, or a seed)."""
        return self.seed is not None or (self.temperature is not None and self.temperature == 0)

    def params(self) -> dict[str, Any]:
        """The output-changing parameters that are set, as JSON-ready values."""
        out: dict[str, Any] = {}
        for name in self.PARAMS:
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if type(value) is tuple else value
        return out

    def message_dicts(self) -> list[dict[str, str]]:
        return [m.to_dict() for m in self.messages]

    def canonical(self) -> bytes:
        """Canonical JSON of everything that can change the answer (model, messages, parameters)."""
        cached = self._canonical
        if cached is None:
            # The JSON object {"model", "messages", then each parameter that is set, in PARAMS order},
            # written piece by piece: json.dumps of the whole dict costs several times more per hit.
            msgs = ",".join(f"[{_quote(m.role)},{_quote(m.content)}]" for m in self.messages)
            parts = [f'{{"model":{_quote(self.model)},"messages":[{msgs}]']
            for name in self.PARAMS:
                value = getattr(self, name)
                if value is not None:
                    parts.append(f',"{name}":{_json(value)}')
            parts.append("}")
            cached = "".join(parts).encode()
            self._canonical = cached
        return cached

    def with_model(self, model: str) -> ChatRequest:
        return ChatRequest(**{**{n: getattr(self, n) for n in ("messages", *self.PARAMS)}, "model": model})


# A reused encoder: json.dumps with options builds a new encoder per call.
_ENCODE_SORTED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode


def _json(value: Any) -> str:
    """Canonical JSON of one parameter value (numbers, strings, tuples of them, nested objects)."""
    kind = type(value)
    if kind is float:
        return repr(value)  # finite floats only (validated), so this is valid JSON
    if kind is int:
        return str(value)
    if kind is tuple:
        return "[" + ",".join(_json(v) for v in value) + "]"
    if kind is str:
        return _quote(value)
    return _ENCODE_SORTED(value)


def _messages(prompt: PromptInput, system: str | None) -> tuple[Message, ...]:
    if type(prompt) is str and system is None and prompt.strip():
        return (Message("user", prompt),)  # the common case, kept short: it runs on every cache hit
    out: list[Message] = []
    if system is not None:
        out.append(_message({"role": "system", "content": system}, "system"))
    if isinstance(prompt, str):
        out.append(_message({"role": "user", "content": prompt}, "prompt"))
    elif isinstance(prompt, Iterable) and not isinstance(prompt, (bytes, Mapping)):
        for i, item in enumerate(prompt):
            out.append(_message(item, f"messages[{i}]"))
    else:
        raise InvalidRequest(
            f"prompt must be a string or a list of messages (got {type(prompt).__name__})", "messages"
        )
    if not any(m.role == "user" for m in out):
        raise InvalidRequest("messages must include at least one 'user' message", "messages")
    return tuple(out)


def _message(item: MessageInput, where: str) -> Message:
    if type(item) is dict:
        role, content = item.get("role"), item.get("content")
    elif isinstance(item, Message):
        role, content = item.role, item.content
    elif isinstance(item, Mapping):
        role, content = item.get("role"), item.get("content")
    else:
        raise InvalidRequest(
            f"{where} must be a {{'role': ..., 'content': ...}} mapping (got {type(item).__name__})",
            "messages",
        )
    if role not in ROLES:
        raise InvalidRequest(
            f"{where} role must be one of system, user, assistant (got {role!r})", "messages"
        )
    if not isinstance(content, str):
        raise InvalidRequest(f"{where} content must be a string (got {type(content).__name__})", "messages")
    if not content.strip():
        what = "prompt" if where == "prompt" else f"{where} content"
        raise InvalidRequest(f"{what} must not be empty", "messages")
    return Message(role, content)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(name: str, value: Any, low: float, high: float) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {_fmt(low)} and {_fmt(high)} (got {value!r})", name)
    return float(value)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _max_tokens(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"max_tokens must be an integer >= 1 (got {value!r})", "max_tokens")
    return value


def _top_p(value: Any) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not 0 < value <= 1:
        raise InvalidRequest(f"top_p must be greater than 0 and at most 1 (got {value!r})", "top_p")
    return float(value)


def _stop(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) and s for s in items):
        raise InvalidRequest(f"stop must be a non-empty string or a list of them (got {value!r})", "stop")
    if len(items) > 4:
        raise InvalidRequest(f"stop accepts at most 4 strings (got {len(items)})", "stop")
    return tuple(items) or None


def _seed(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"seed must be an integer (got {value!r})", "seed")
    return value


def _mapping(name: str, value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{name} must be an object (got {type(value).__name__})", name)
    return value


def _tools(value: Any) -> tuple[Mapping[str, Any], ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, Mapping) for t in value):
        raise InvalidRequest("tools must be a list of objects", "tools")
    return tuple(value) or None
