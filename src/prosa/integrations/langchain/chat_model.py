"""ChatProsa: a LangChain chat model over prosa's Client, whose streams are cached too.

LangChain's own cache is consulted by ``invoke`` only; ``stream``/``astream`` always call the
model (langchain-ai/langchain issues 23701, 13119, 9762). ChatProsa caches below LangChain, in
prosa's client, where a streamed answer is recorded chunk by chunk and replayed on a repeat, by
``invoke`` and ``stream`` alike, tool calls included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from langchain_core.caches import BaseCache
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.globals import get_llm_cache
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr, SecretStr, model_validator

from ...cache.cache import open_cache
from ...cache.stores import Store
from ...client import AsyncClient, Client
from ...config import Settings, load_settings
from ...errors import InvalidRequest
from ...reply import Chunk, Reply
from . import convert
from . import tools as _tools
from .caches import StoreCache

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


class ChatProsa(BaseChatModel):
    """A LangChain chat model answered by prosa: the embedded model or any OpenAI-compatible server.

    ``model="local"`` (default) is the embedded SmolLM2; any other name goes to the OpenAI provider
    at ``base_url`` with ``api_key`` (else prosa's configuration). ``cache_store`` takes what
    ``prosa.Client(cache=...)`` takes: ``"memory"``, ``"sqlite"``, ``"sqlite:///path.db"``, a path,
    a :class:`~prosa.cache.Store`, or None for no cache. Left out, a prosa cache set with LangChain's
    ``set_llm_cache`` (``prosa.langchain.SQLiteCache``...) serves the model, looked up at each call;
    else prosa's configuration decides (``PROSA_CACHE`` / ``[cache] store``; nothing by default).

    ``cache`` (LangChain's own cache layer) defaults to False: prosa's cache already serves
    ``invoke`` and ``stream`` under one key, and LangChain's layer would store every answer a
    second time and still miss every stream. ``cache=None`` hands the global cache to LangChain's
    layer instead (then prosa's layer leaves it alone: an answer is stored once).

    ``bind_tools`` and ``with_structured_output`` work as ChatOpenAI's do; tool calls are cached and
    replayed like text.
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

    _settings: Settings = PrivateAttr()
    _client: Client = PrivateAttr()
    _aclient: AsyncClient = PrivateAttr()
    # The clients over the store of a prosa cache set with set_llm_cache, made on first use.
    _global: tuple[Store, Client, AsyncClient] | None = PrivateAttr(default=None)

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
        self._settings = settings
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

    # -- tools and structured output ---------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: dict[str, Any] | type | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (anything ``convert_to_openai_tool`` takes), as ChatOpenAI does.

        ``tool_choice``: a tool's name, ``"auto"``, ``"none"``, ``"required"``/``"any"``/True, or
        OpenAI's object. ``strict`` is written into every tool; ``parallel_tool_calls`` and any other
        keyword are sent with every call. ``response_format`` (a schema or OpenAI's object) shapes an
        answer that calls no tool.
        """
        if response_format is not None and strict is not False:
            strict = True  # OpenAI requires strict tools beside a response_format, as ChatOpenAI sets
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        names = [t["function"]["name"] for t in formatted if isinstance(t.get("function"), dict)]
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        choice = _tools.tool_choice(tool_choice, names)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if response_format is not None:
            kwargs["response_format"] = _tools.response_format(response_format, strict)
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        tools: list[Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Answers parsed into ``schema`` (a Pydantic class, TypedDict or JSON schema), as ChatOpenAI does.

        ``method="function_calling"`` (default) forces a call to a tool made from the schema;
        ``"json_schema"`` sends it as ``response_format``; ``"json_mode"`` asks for any JSON object.
        ``include_raw=True`` returns ``{"raw", "parsed", "parsing_error"}``. A refusal raises
        ``OutputParserException``.
        """
        return _tools.structured_output(self, schema, method, include_raw, strict, tools, kwargs)

    # -- LangChain's hooks -------------------------------------------------------------------------
    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:  # fmt: skip
        return convert.result(self._clients()[0].chat(**self._request(messages, stop, kwargs)))

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:  # fmt: skip
        return convert.result(await self._clients()[1].chat(**self._request(messages, stop, kwargs)))

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:  # fmt: skip
        # A cached answer comes through here like a fresh one (prosa replays its chunks), so token
        # callbacks fire on a replay too. langchain-core >= 1 reports tokens itself and passes no
        # run_manager here; older versions pass one and expect the model to report them.
        with self._clients()[0].chat(**self._request(messages, stop, kwargs, stream=True)) as stream:
            relay = _Relay()
            for piece in stream:
                if (out := relay.take(piece)) is not None:
                    yield _told(run_manager, out)
            yield _told(run_manager, relay.end(stream.reply))

    async def _astream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:  # fmt: skip
        stream = await self._clients()[1].chat(**self._request(messages, stop, kwargs, stream=True))
        async with stream:
            relay = _Relay()
            async for piece in stream:
                if (out := relay.take(piece)) is not None:
                    yield await _atold(run_manager, out)
            yield await _atold(run_manager, relay.end(stream.reply))

    # -- helpers -----------------------------------------------------------------------------------
    def _clients(self) -> tuple[Client, AsyncClient]:
        """The clients answering now. Without ``cache_store``, a prosa cache set with LangChain's
        ``set_llm_cache`` (decided at each call) serves ChatProsa through prosa's layer, streams
        included; LangChain's layer stays off (``cache=False``), so an answer is stored once."""
        if "cache_store" in self.model_fields_set or self.cache is not False:
            return self._client, self._aclient
        global_cache = get_llm_cache()
        if not isinstance(global_cache, StoreCache):
            return self._client, self._aclient
        store = global_cache.store
        memo = self._global
        if memo is None or memo[0] is not store:
            cache = open_cache(store, self._settings)
            memo = (
                store,
                Client(self.provider, model=self.model, cache=cache, settings=self._settings),
                AsyncClient(self.provider, model=self.model, cache=cache, settings=self._settings),
            )
            self._global = memo
        return memo[1], memo[2]

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: Mapping[str, Any],
        stream: bool = False,
    ) -> dict[str, Any]:
        """prosa's chat() arguments, for all four hooks: the messages, the model's settings overridden
        by this call's. Every keyword LangChain passes (bound tools, tool_choice, parallel_tool_calls,
        response_format, n, logprobs, a server's own fields...) is a request field; prosa validates it
        and sends it."""
        options: dict[str, Any] = {name: getattr(self, name) for name in _PARAMS}
        options["model"] = self.model
        options["stop"] = stop if stop is not None else self.stop
        for name, value in kwargs.items():
            if name == "stream" or name.startswith("ls_"):
                continue  # LangChain's own routing and tracing hints, not request fields
            if name == "stream_options":
                if value is not None and value != {"include_usage": True}:
                    raise InvalidRequest(
                        "ChatProsa streams with usage always; stream_options takes only include_usage=True",
                        name,
                    )
                continue  # what it asks for is always done
            options[name] = value
        if stream and options.get("n") not in (None, 1):
            raise InvalidRequest("ChatProsa streams one choice; use invoke() for n > 1", "n")
        if "prompt" in options:  # chat()'s own argument: no request field has that name
            raise InvalidRequest("prompt is not a chat request field", "prompt")
        options["prompt"], options["stream"] = convert.to_prosa(messages), stream
        return options


class _Relay:
    """prosa's chunks as LangChain's, for _stream and _astream alike: the finishing chunk is held back
    until the stream's Reply exists, since the last LangChain chunk carries its usage and metadata."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: dict[str, Any] | None = None

    def take(self, piece: Chunk) -> ChatGenerationChunk | None:
        """The LangChain chunk to send now for ``piece``, if any."""
        if piece.finish_reason is None:
            return convert.chunk(piece.data)
        out = None if self.last is None else convert.chunk(self.last)
        self.last = piece.data
        return out

    def end(self, reply: Reply) -> ChatGenerationChunk:
        return convert.last_chunk(self.last, reply)


def _told(run_manager: CallbackManagerForLLMRun | None, out: ChatGenerationChunk) -> ChatGenerationChunk:
    if run_manager:
        run_manager.on_llm_new_token(out.text, chunk=out)
    return out


async def _atold(
    run_manager: AsyncCallbackManagerForLLMRun | None, out: ChatGenerationChunk
) -> ChatGenerationChunk:
    if run_manager:
        await run_manager.on_llm_new_token(out.text, chunk=out)
    return out
