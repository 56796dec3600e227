"""OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server) through the official SDK.

The SDK is imported only when a request actually goes upstream, so a cache hit never pays for it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ..config import Settings
from ..errors import (
    AuthError,
    InvalidRequest,
    ProsaError,
    StreamInterrupted,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from ..reply import Chunk
from ..request import ChatRequest

# A compatible server that wants no key still needs a non-empty one in the SDK.
NO_KEY = "prosa-no-key"


class OpenAIProvider:
    kind = "openai"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url = settings.base_url
        self.identity = f"openai:{self.base_url}"
        self._sync: Any = None
        self._async: Any = None

    def model_name(self, request: ChatRequest) -> str:
        return request.model

    def _key(self) -> str:
        key = self.settings.openai_api_key
        if key:
            return key
        if self.settings.is_openai_host:
            raise AuthError(
                "no OpenAI API key: set OPENAI_API_KEY or run `prosa keys set openai` "
                "(or use the embedded model with -m local)"
            )
        return NO_KEY

    def _options(self) -> dict[str, Any]:
        return {
            "api_key": self._key(),
            "base_url": self.base_url,
            "timeout": self.settings.timeout,
            "max_retries": self.settings.max_retries,
        }

    def client(self) -> Any:
        if self._sync is None:
            import openai

            self._sync = openai.OpenAI(**self._options())
        return self._sync

    def aclient(self) -> Any:
        if self._async is None:
            import openai

            self._async = openai.AsyncOpenAI(**self._options())
        return self._async

    def list_models(self) -> list[str]:
        try:
            return sorted(m.id for m in self.client().models.list())
        except Exception as e:  # noqa: BLE001 - mapped to one clear line
            raise self.error(e) from None

    def stream(self, request: ChatRequest) -> Iterator[Chunk]:
        decoder = _Decoder(time.perf_counter())
        try:
            import openai

            # The SDK's own request path (retries, timeouts, errors, SSE decoding) without its
            # per-call parameter transform: the body is sent as already-encoded bytes, and each
            # event comes back as the plain JSON the upstream sent (cast_to=object).
            client = self.client()
            events = client.post(
                "/chat/completions", **streamed(client, _body(request), openai.Stream[object])
            )
            with events:
                yield from map(decoder.feed, events)
            decoder.end()
        except Exception as e:  # noqa: BLE001
            raise self.error(e, decoder.started) from None

    async def astream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        decoder = _Decoder(time.perf_counter())
        try:
            import openai

            client = self.aclient()
            events = await client.post(
                "/chat/completions", **streamed(client, _body(request), openai.AsyncStream[object])
            )
            async with events:
                async for event in events:
                    yield decoder.feed(event)
            decoder.end()
        except Exception as e:  # noqa: BLE001
            raise self.error(e, decoder.started) from None

    def error(self, e: BaseException, started: bool = False) -> BaseException:
        """Turn an SDK exception into one clear prosa error line, with any secret removed."""
        if isinstance(e, ProsaError):
            return e
        import openai

        from ..config import redact

        where = self.base_url
        secret = self.settings.openai_api_key
        if isinstance(e, openai.APITimeoutError):
            return UpstreamTimeout(
                f"{where} did not answer within {self.settings.timeout:g}s; retry, or raise PROSA_TIMEOUT",
                504,
            )
        if isinstance(e, openai.APIConnectionError) and started:
            return StreamInterrupted(
                f"the connection to {where} was cut mid-answer ({_reason(e)}); retry", 502
            )
        if isinstance(e, openai.APIConnectionError):
            return UpstreamUnreachable(f"cannot reach {where}: {_reason(e)}", 502)
        if isinstance(e, openai.APIStatusError):
            message = redact(_status_message(e), secret)
            status = e.status_code
            if status == 401:
                return AuthError(
                    f"{where} rejected the API key (401: {message}); check OPENAI_API_KEY or `prosa keys set openai`"
                )
            if status == 400:
                err = InvalidRequest(f"{where} rejected the request (400): {message}")
                return err
            if status == 404:
                return UpstreamError(
                    f"{where} answered 404: {message}; check the model name (prosa models)", 404
                )
            return UpstreamError(f"{where} answered {status}: {message}", status)
        return UpstreamError(redact(f"{where}: {type(e).__name__}: {e}", secret))


def _reason(e: BaseException) -> str:
    """The innermost cause of a connection error, in a few words ('connection refused')."""
    cause: BaseException | None = e
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    text = str(cause or e)
    lowered = text.lower()
    for needle, words in (
        ("refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("timed out", "connection timed out"),
        ("unreachable", "network unreachable"),
        ("incomplete chunked read", "the connection was cut mid-answer"),
        ("peer closed connection", "the connection was cut mid-answer"),
    ):
        if needle in lowered:
            return words
    return text or type(cause).__name__


def _status_message(e: Any) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(e, "message", "") or e)


def _body(request: ChatRequest) -> bytes:
    """The upstream body: every field the client sent, as sent, always streamed with usage.

    A non-streaming call is the same stream, collected, and the usage is always asked for, so it is
    recorded. (``stream`` and ``stream_options`` are the door's: a request never carries them.)
    """
    body = request.body()
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate: \u escapes are valid JSON, and the upstream decides
        return json.dumps(body, separators=(",", ":")).encode()


def streamed(client: Any, content: bytes, stream_cls: Any) -> dict[str, Any]:
    """``client.post``'s arguments for a stream of events from an encoded body: the body as raw bytes
    (``content`` in newer SDK releases, ``body`` before), each event the plain JSON it was."""
    takes_content = getattr(client, "_prosa_content", None)
    if takes_content is None:
        import inspect

        takes_content = client._prosa_content = "content" in inspect.signature(client.post).parameters
    body = "content" if takes_content else "body"
    return {body: content, "cast_to": object, "stream": True, "stream_cls": stream_cls}


class _Decoder:
    """OpenAI stream events (plain JSON) -> prosa chunks carrying each event whole (less id/created).

    An event with nothing in it for any choice and no usage is still kept: replay sends what came.
    """

    def __init__(self, start: float) -> None:
        self.start = start
        self.finished = False
        self.seen: set[int] = set()  # the choices seen, and those that have their finish_reason
        self.done: set[int] = set()
        self.started = False

    def feed(self, event: Any) -> Chunk:
        self.started = True
        if not isinstance(event, dict):
            raise UpstreamError(
                f"the upstream sent a stream event that is not a JSON object: {str(event)[:80]}"
            )
        data = {k: v for k, v in event.items() if k not in _PER_ANSWER}
        choices = data.get("choices")
        if choices is not None and not isinstance(choices, list):
            raise UpstreamError("the upstream sent a stream event whose choices are not a list")
        for choice in choices or ():
            if not _well_formed(choice):
                raise UpstreamError(
                    f"the upstream sent a malformed choice in a stream event: {str(choice)[:80]}"
                )
        chunk = Chunk.of(data, (time.perf_counter() - self.start) * 1000)
        for choice in choices or ():
            index = choice.get("index", 0) if isinstance(choice, dict) else None
            if type(index) is int:
                self.seen.add(index)
                if choice.get("finish_reason") is not None:
                    self.done.add(index)
        if chunk.finish_reason is not None:
            self.finished = True
        return chunk

    def end(self) -> None:
        if not self.finished or self.seen - self.done:  # every choice must finish, not just one
            raise StreamInterrupted("the stream ended before the model finished its answer; retry")


def _well_formed(choice: Any) -> bool:
    """A choice the assembler can merge: an object whose delta and logprobs are objects (or null), and
    whose tool calls are objects (or null)."""
    if not isinstance(choice, dict):
        return False
    delta, logprobs = choice.get("delta"), choice.get("logprobs")
    if not isinstance(delta, (dict, type(None))) or not isinstance(logprobs, (dict, type(None))):
        return False
    calls = (delta or {}).get("tool_calls")
    return calls is None or (isinstance(calls, list) and all(c is None or isinstance(c, dict) for c in calls))


# Renewed by each answer the gateway sends (a hit replays under a fresh id); "object" is implied.
_PER_ANSWER = frozenset({"id", "created", "object"})
