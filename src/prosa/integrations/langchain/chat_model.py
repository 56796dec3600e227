"""ChatProsa: a LangChain chat model over prosa's Client, whose streams are cached too.

LangChain's own cache is consulted by ``invoke`` only; ``stream``/``astream`` always call the
model (langchain-ai/langchain issues 23701, 13119, 9762). ChatProsa caches below LangChain, in
prosa's client, where a streamed answer is recorded chunk by chunk and replayed on a repeat, by
``invoke`` and ``stream`` alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal

from langchain_core.caches import BaseCache
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr, SecretStr, model_validator

from ...cache.cache import open_cache
from ...client import AsyncClient, Client
from ...config import load_settings
from ...errors import InvalidRequest
from ...reply import Chunk, Reply, Usage
from ...stream import AsyncChatStream

__all__ = ["ChatProsa"]

# Settings of the model that a call may also override (``model.invoke(x, temperature=0)``).
_PARAMS = (
    "temperature",
    "max_tokens",
    "top_p",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
)
_CALL_ONLY = ("model", "refresh", "use_cache", "pace")  # prosa's per-call options of Client.chat
_ROLES = {"system": "system", "human": "user", "user": "user", "ai": "assistant", "assistant": "assistant"}
# langchain-core >= 1 marks a stream's last chunk; older versions have no such field.
_HAS_POSITION = "chunk_position" in AIMessageChunk.model_fields


class ChatProsa(BaseChatModel):
    """A LangChain chat model answered by prosa: the embedded model or any OpenAI-compatible server.

    ``model="local"`` (default) is the embedded SmolLM2; any other name goes to the OpenAI provider
    at ``base_url`` with ``api_key`` (else prosa's configuration). ``cache_store`` takes what
    ``prosa.Client(cache=...)`` takes: ``"memory"``, ``"sqlite"``, ``"sqlite:///path.db"``, a path,
    a :class:`~prosa.cache.Store`, or None for no cache; left out, prosa's configuration decides
    (``PROSA_CACHE`` / ``[cache] store``; nothing by default).

    ``cache`` (LangChain's cache) defaults to False: prosa's cache already serves ``invoke`` and
    ``stream`` under one key, and LangChain's global cache would store every answer a second
    time and still miss every stream. Set ``cache=None`` to use ``set_llm_cache`` as well.
    """

    model: str = "local"
    provider: Literal["local", "openai"] | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    cache_store: Any = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_format: dict[str, Any] | None = None
    timeout: float | None = None
    max_retries: int | None = None
    streaming: bool = False
    """Whether ``invoke`` streams internally (so token callbacks fire) instead of waiting for the whole answer."""
    cache: BaseCache | bool | None = Field(default=False, exclude=True)

    _client: Client = PrivateAttr()
    _aclient: AsyncClient = PrivateAttr()

    @model_validator(mode="after")
    def _open_clients(self) -> ChatProsa:
        settings = load_settings(
            openai_api_key=self.api_key.get_secret_value() if self.api_key else None,
            openai_base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )
        spec = self.cache_store if "cache_store" in self.model_fields_set else settings.cache
        # One ResponseCache for both clients: "memory" must be one store, shared by invoke and ainvoke.
        cache = open_cache(spec, settings)
        self._client = Client(self.provider, model=self.model, cache=cache, settings=settings)
        self._aclient = AsyncClient(self.provider, model=self.model, cache=cache, settings=settings)
        return self

    @property
    def _llm_type(self) -> str:
        return "prosa"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        names = ("model", "provider", "base_url", "stop", *_PARAMS)
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    # -- LangChain's hooks -------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._client.chat(_to_prosa(messages), **self._options(stop, kwargs))
        return _result(reply)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = await self._aclient.chat(_to_prosa(messages), **self._options(stop, kwargs))
        assert isinstance(reply, Reply)  # AsyncClient.chat has no overloads for its two return types
        return _result(reply)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # A cached answer comes through here like a fresh one (prosa replays its chunks), so token
        # callbacks fire on a replay too. langchain-core >= 1 reports tokens itself and passes no
        # run_manager here; older versions pass one and expect the model to report them.
        with self._client.chat(_to_prosa(messages), stream=True, **self._options(stop, kwargs)) as stream:
            last: Chunk | None = None
            for chunk in stream:
                if chunk.finish_reason is not None:
                    last = chunk  # held back until the stream ends and its Reply (model name) exists
                    continue
                out = _chunk(chunk.text)
                if run_manager:
                    run_manager.on_llm_new_token(out.text, chunk=out)
                yield out
            if last is not None:
                out = _chunk(last.text, stream.reply)
                if run_manager:
                    run_manager.on_llm_new_token(out.text, chunk=out)
                yield out

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        stream = await self._aclient.chat(_to_prosa(messages), stream=True, **self._options(stop, kwargs))
        assert isinstance(stream, AsyncChatStream)
        async with stream:
            last: Chunk | None = None
            async for chunk in stream:
                if chunk.finish_reason is not None:
                    last = chunk
                    continue
                out = _chunk(chunk.text)
                if run_manager:
                    await run_manager.on_llm_new_token(out.text, chunk=out)
                yield out
            if last is not None:
                out = _chunk(last.text, stream.reply)
                if run_manager:
                    await run_manager.on_llm_new_token(out.text, chunk=out)
                yield out

    # -- helpers -----------------------------------------------------------------------------------
    def _options(self, stop: list[str] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """prosa's chat() arguments: the model's settings, overridden by this call's."""
        options: dict[str, Any] = {name: getattr(self, name) for name in _PARAMS}
        options["model"] = self.model
        options["stop"] = stop if stop is not None else self.stop
        for name, value in kwargs.items():
            if name in _PARAMS or name in _CALL_ONLY:
                options[name] = value
            elif name == "stream" or name.startswith("ls_"):
                continue  # LangChain's own routing and tracing hints, not model parameters
            else:
                raise InvalidRequest(
                    f"ChatProsa does not accept {name!r}; it takes {', '.join((*_PARAMS, 'stop', *_CALL_ONLY))}",
                    name,
                )
        return options


def _to_prosa(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as prosa's role/content dicts (text only: prosa's requests carry text)."""
    out = []
    for message in messages:
        role = _ROLES.get(getattr(message, "role", None) or message.type)
        if role is None:
            raise InvalidRequest(
                f"ChatProsa takes system, human and ai messages (got a {type(message).__name__})", "messages"
            )
        out.append({"role": role, "content": _text(message)})
    return out


def _text(message: BaseMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = []
    for block in message.content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        else:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            raise InvalidRequest(f"ChatProsa sends text only (got a {kind!r} content block)", "messages")
    return "".join(parts)


def _usage(usage: Usage) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


def _metadata(reply: Reply) -> dict[str, Any]:
    return {
        "finish_reason": reply.finish_reason,
        "model_name": reply.model,
        "provider": reply.provider,
        "cached": reply.cached,
    }


def _result(reply: Reply) -> ChatResult:
    message = AIMessage(
        content=reply.text, response_metadata=_metadata(reply), usage_metadata=_usage(reply.usage)
    )
    return ChatResult(generations=[ChatGeneration(message=message)])


def _chunk(text: str, reply: Reply | None = None) -> ChatGenerationChunk:
    """A content chunk; the last one (``reply`` given) also carries usage and metadata."""
    if reply is None:
        return ChatGenerationChunk(message=AIMessageChunk(content=text))
    extra: dict[str, Any] = {"chunk_position": "last"} if _HAS_POSITION else {}
    message = AIMessageChunk(
        content=text, response_metadata=_metadata(reply), usage_metadata=_usage(reply.usage), **extra
    )
    return ChatGenerationChunk(message=message)
