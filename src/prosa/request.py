"""ChatRequest: the one validated, canonical request every door builds.

CLI flags, Python keyword arguments, HTTP JSON and LangChain messages are all turned into a
``ChatRequest`` here, so validation and defaults live in one place. A :class:`Call` is one on its way
through a client: the request, who answers it, and its cache key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring as _quote  # the C string escaper
from typing import TYPE_CHECKING, Any, Union

from ._record import Record
from .errors import InvalidRequest
from .messages import ROLES, Message, message, plain
from .params import FLOATS, TRANSPORT, UNKEYED, check

if TYPE_CHECKING:
    from .providers.base import Provider

__all__ = [
    "ROLES",
    "Call",
    "ChatRequest",
    "Message",
    "LOCAL_MODEL_NAMES",
    "KEY_VERSION",
    "is_local_model",
    "canonical_model",
]

LOCAL_MODEL_NAMES = ("local", "smollm2")  # the embedded model's names, in lower case


_LOCAL_MEMO: dict[str, bool] = {}  # asked twice on every request, with a handful of names per process


def is_local_model(name: str) -> bool:
    """Whether a model name means the embedded local model: "local" or "smollm2", in any case."""
    try:
        return _LOCAL_MEMO[name]
    except (KeyError, TypeError):  # a new name, or not a string (unhashable)
        pass
    local = isinstance(name, str) and name.strip().lower() in LOCAL_MODEL_NAMES
    if isinstance(name, str) and len(_LOCAL_MEMO) < 1024:
        _LOCAL_MEMO[name] = local
    return local


def canonical_model(name: str) -> str:
    """The name a request goes by: "local" for every name of the local model (so its aliases share
    cache entries), any other as given."""
    return "local" if is_local_model(name) else name


# Bumped when the key's form changes, so entries written under an older form are never served.
KEY_VERSION = b"prosa-key-2"

MessageInput = Union[str, Mapping[str, Any], "Message"]  # noqa: UP007 - a runtime alias on Python 3.10
PromptInput = Union[str, Sequence[MessageInput]]  # noqa: UP007


class ChatRequest(Record):
    """A validated chat request. Build it with :meth:`ChatRequest.build`; treat it as immutable.

    ``params`` holds every other top-level field as the client sent it (plain JSON values; a null
    is the same as leaving the field out, as in OpenAI's API). ``scope`` says whose cache the request
    belongs to ("" for the common one, else "tenant/namespace" as decided at the door): it is in the
    cache key but never sent upstream.
    """

    __slots__ = ("messages", "model", "params", "scope", "_canonical")

    def __init__(
        self,
        messages: tuple[Message, ...],
        model: str,
        params: dict[str, Any] | None = None,
        scope: str = "",
    ) -> None:
        self.messages = messages
        self.model = model
        self.params: dict[str, Any] = params if params is not None else {}
        self.scope = scope
        self._canonical: bytes | None = None

    @classmethod
    def build(
        cls, prompt: PromptInput, *, model: str, system: str | None = None, **params: Any
    ) -> ChatRequest:
        """Validate the prompt or messages and every parameter; raise InvalidRequest on the first problem.

        ``prompt`` is a question string (sent as one user message) or a list of messages given as
        mappings (every role and field of the Chat Completions API), :class:`Message` or a
        :class:`~prosa.reply.Reply` (the assistant turn it was). ``system`` adds a system message first.
        Keyword arguments are the request's other fields (``temperature``, ``tools``, ``tool_choice``...).
        """
        messages = _messages(prompt, system)
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("model must be a non-empty string", "model")
        return cls(messages, model.strip(), _params(params) if params else {})

    def with_messages(self, messages: tuple[Message, ...]) -> ChatRequest:
        """The same request with other messages (grounding adds data; the semantic cache drops the question)."""
        return ChatRequest(messages, self.model, self.params, self.scope)

    def with_scope(self, scope: str) -> ChatRequest:
        """The same request in another cache scope (see :mod:`prosa.cache.controls`)."""
        out = ChatRequest(self.messages, self.model, self.params, scope)
        out._canonical = self._canonical
        return out

    def question_message(self) -> Message | None:
        """The message holding the question: the last one a user wrote (None when no user wrote one)."""
        for m in reversed(self.messages):
            if m.role == "user":
                return m
        return None

    @property
    def question(self) -> str:
        """The question, as cache listings show it and grounding ranks data by: the text of the last
        user message ("" when there is none)."""
        m = self.question_message()
        return m.text if m is not None else ""

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @property
    def temperature(self) -> float | None:
        return self.params.get("temperature")

    @property
    def max_tokens(self) -> int | None:
        """The answer's token limit, whichever name it was sent under."""
        value = self.params.get("max_completion_tokens")
        return self.params.get("max_tokens") if value is None else value

    @property
    def stop(self) -> tuple[str, ...] | None:
        value = self.params.get("stop")
        return None if value is None else (value,) if isinstance(value, str) else tuple(value)

    @property
    def deterministic(self) -> bool:
        """True when the same request should give the same answer (temperature 0, or a seed)."""
        params = self.params
        return params.get("seed") is not None or params.get("temperature") == 0

    def message_dicts(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self.messages]

    def body(self) -> dict[str, Any]:
        """The request as a Chat Completions body (without ``stream``): every field, as sent."""
        return {"model": self.model, "messages": self.message_dicts(), **self.params}

    def canonical(self) -> bytes:
        """Canonical JSON of everything that can change the answer (model, messages, keyed fields)."""
        cached = self._canonical
        if cached is None:
            # The JSON object {"model", "messages", then each keyed field in name order}, written piece
            # by piece: json.dumps of the whole dict costs several times more per hit. A plain message is
            # a [role, content] pair; any other is its sorted object, so the two forms never collide.
            msgs = ",".join(
                f"[{_quote(m.role)},{_quote(m.content)}]" if m.data is None else _ENCODE_SORTED(m.data)
                for m in self.messages
            )
            parts = [f'{{"model":{_quote(self.model)},"messages":[{msgs}]']
            params = self.params
            for name in sorted(params):
                if name not in UNKEYED:
                    parts.append(f",{_quote(name)}:{_key_json(name, params[name])}")
            parts.append("}")
            # surrogatepass: a lone surrogate (valid in JSON, not in UTF-8) still gives distinct bytes.
            cached = "".join(parts).encode("utf-8", "surrogatepass")
            self._canonical = cached
        return cached


# A reused encoder: json.dumps with options builds a new encoder per call.
_ENCODE_SORTED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode


def _key_json(name: str, value: Any) -> str:
    """A field's value in the key: numbers of the float fields as floats, a lone stop string as a list."""
    if name in FLOATS and type(value) is int:
        value = float(value)
    elif name == "stop" and type(value) is str:
        value = [value]
    kind = type(value)
    if kind is float:
        return repr(value)  # finite floats only (validated), so this is valid JSON
    if kind is str:
        return _quote(value)
    return _ENCODE_SORTED(value)


def _params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        if name in TRANSPORT:
            raise InvalidRequest(
                f"{name} is not a request field here: pass stream=True to chat() for a stream", name
            )
        if type(value) is not float:  # a float is checked as given: NaN gets the field's own range message
            value = plain(value, name)
        check(name, value)
        if type(value) is float:
            value = plain(value, name)  # an unknown field's NaN or infinity is still not JSON
        out[name] = value
    return out


def _messages(prompt: PromptInput, system: str | None) -> tuple[Message, ...]:
    if type(prompt) is str and system is None and prompt.strip():
        return (Message("user", prompt),)  # the common case, kept short: it runs on every cache hit
    out: list[Message] = []
    if system is not None:
        if not isinstance(system, str) or not system.strip():
            raise InvalidRequest("system must be a non-empty string", "system")
        out.append(Message("system", system))
    if isinstance(prompt, str):
        if not prompt.strip():
            raise InvalidRequest("prompt must not be empty", "messages")
        out.append(Message("user", prompt))
    elif isinstance(prompt, Iterable) and not isinstance(prompt, (bytes, Mapping)):
        for i, item in enumerate(prompt):
            out.append(message(item, f"messages[{i}]"))
    else:
        raise InvalidRequest(
            f"prompt must be a string or a list of messages (got {type(prompt).__name__})", "messages"
        )
    if len(out) == (system is not None):
        raise InvalidRequest("messages must include at least one message", "messages")
    return tuple(out)


class Call(Record):
    """One request on its way: the validated request, who answers it, and what the cache may do.

    Nothing changes a Call once prepared (the gateway reuses one for every repeat of a body): a
    lookup returns its :class:`Hit` instead."""

    __slots__ = ("request", "provider", "model_name", "key", "save", "start")

    def __init__(
        self,
        request: ChatRequest,
        provider: Provider,
        model_name: str,
        key: str | None,
        save: bool,
        start: float,
    ) -> None:
        self.request, self.provider, self.model_name = request, provider, model_name
        self.key, self.save, self.start = key, save, start
