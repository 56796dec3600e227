"""Client and AsyncClient: the Python door. Both share one pipeline; only the waiting differs.

request -> cache lookup -> hit: replay the recorded chunks
                        -> miss: a Flight pumps the provider's stream, recording as it goes
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload

from ._record import Record
from .cache.cache import ResponseCache, open_cache
from .cache.entry import Entry
from .cache.flight import Flight, shared_flight
from .cache.replay import areplay, replay
from .config import DEFAULT_OPENAI_MODEL, Settings, load_settings
from .errors import InvalidRequest
from .providers.base import Provider
from .reply import Chunk, Reply, Usage
from .request import LOCAL_MODEL_NAMES, ChatRequest, PromptInput
from .stream import AsyncChatStream, ChatStream, _Collector

_UNSET: Any = object()


class Call(Record):
    """One request on its way: the validated request, who answers it, and what the cache may do."""

    # semantic: the question's probe when the semantic cache looked (reused to index the answer);
    # similarity: set on a semantic hit, whose key is then the key of the entry served.
    __slots__ = ("request", "provider", "model_name", "key", "save", "start", "semantic", "similarity")

    def __init__(
        self,
        request: ChatRequest,
        provider: Provider,
        model_name: str,
        key: str | None,
        save: bool,
        start: float,
    ) -> None:
        self.request = request
        self.provider = provider
        self.model_name = model_name
        self.key = key
        self.save = save
        self.start = start
        self.semantic: Any = None
        self.similarity: float | None = None


class _Base:
    def __init__(
        self,
        provider: Literal["local", "openai"] | None = None,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        cache: Any = _UNSET,
        timeout: float | None = None,
        max_retries: int | None = None,
        cache_nondeterministic: bool | None = None,
        settings: Settings | None = None,
        semantic: Any = _UNSET,
    ) -> None:
        if provider not in (None, "local", "openai"):
            raise InvalidRequest(f"provider must be 'local' or 'openai' (got {provider!r})", "provider")
        self.settings = settings or load_settings(
            openai_api_key=api_key,
            openai_base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            cache_nondeterministic=cache_nondeterministic,
        )
        self.provider_kind = provider
        self.model = model
        self.cache: ResponseCache | None = open_cache(
            self.settings.cache if cache is _UNSET else cache, self.settings
        )
        self.semantic = _open_semantic(self.cache, self.settings, semantic)
        self._providers: dict[str, Provider] = {}

    # -- the shared pipeline -------------------------------------------------------------------------
    def default_model(self) -> str:
        # With no key and no model named, the local model answers; the local provider says so once per
        # machine when it first answers (prosa.notice), never here, before the request is validated.
        if self.model or self.settings.default_model:
            return self.model or self.settings.default_model  # type: ignore[return-value]
        if self.provider_kind == "openai" or (self.provider_kind is None and self.settings.openai_api_key):
            return DEFAULT_OPENAI_MODEL
        return "local"

    def provider_for(self, model: str) -> Provider:
        is_local = model.lower() in LOCAL_MODEL_NAMES
        kind = self.provider_kind or ("local" if is_local else "openai")
        if kind == "local" and not is_local:
            raise InvalidRequest(
                f"the local provider serves the model 'local' (got {model!r}); choose another GGUF file "
                "with PROSA_LOCAL_MODEL",
                "model",
            )
        provider = self._providers.get(kind)
        if provider is None:
            if kind == "local":
                from .providers.local import LocalProvider

                provider = LocalProvider(
                    self.settings.local_model_path, self.settings.local_n_ctx, self.settings.local_max_tokens
                )
            else:
                from .providers.openai import OpenAIProvider

                provider = OpenAIProvider(self.settings)
            self._providers[kind] = provider
        return provider

    def prepare(
        self,
        prompt: PromptInput,
        model: str | None,
        params: dict[str, Any],
        refresh: bool,
        use_cache: bool,
        *,
        persona: Any = None,
        data: Any = None,
    ) -> Call:
        start = time.perf_counter()
        if persona is not None or data is not None:
            # Imported only when asked for, so a plain request's hot path never loads grounding.
            from .grounding.context import ground

            # The data lands in the request's system message, so the cache key covers what is sent.
            request = ground(self, prompt, model, params, persona, data)[0]
        else:
            name = model or self.default_model()
            if name.lower() in LOCAL_MODEL_NAMES:
                name = "local"  # one name for the local model, so its aliases share cache entries
            request = ChatRequest.build(prompt, model=name, **params)
        provider = self.provider_for(request.model)
        cache = self.cache
        key = None
        save = False
        if cache is not None and use_cache:
            if cache.cacheable(request):
                key = cache.key(provider.identity, request)
                save = True
            elif not refresh:
                cache.count("bypasses")
        return Call(request, provider, provider.model_name(request), key, save, start)

    def hit(self, call: Call, refresh: bool) -> Entry | None:
        if call.key is None or refresh:
            return None
        assert self.cache is not None
        entry = self.cache.lookup(call.key)
        if entry is not None:
            self.cache.count_hit(entry)
        elif self.semantic is not None and (entry := self.semantic.lookup(call)) is not None:
            self.cache.count_hit(entry)  # a semantic hit: exact match was tried first and missed
        else:
            self.cache.count("misses")
        return entry

    def flight(self, call: Call, refresh: bool) -> tuple[Flight, bool]:
        """The flight answering this call: an identical one already in progress, or a new one."""
        cache = self.cache
        semantic = self.semantic

        def make(registry_key: tuple[str, str] | None) -> Flight:
            on_complete = coordinate = None
            if call.save and cache is not None:
                key = call.key
                assert key is not None

                def on_complete(chunks: list[Chunk]) -> None:
                    cache.save(key, chunks, call.model_name, call.provider.kind, call.request)
                    if semantic is not None:
                        semantic.remember(call, key)

                if not refresh and getattr(cache.store, "supports_locks", False):

                    def coordinate() -> tuple[Entry | None, Callable[[], None] | None]:
                        return cache.coordinate(key, self.settings.timeout)

            return Flight(on_complete, registry_key, coordinate)

        if call.key is None or refresh or cache is None:
            flight = make(None)
            flight.join()
            return flight, True
        return shared_flight((cache.url, call.key), make)

    def cached_reply(self, call: Call, entry: Entry) -> Reply:
        """A whole answer straight from an entry: the hot path of a non-streaming hit makes no chunks."""
        return Reply(
            text=entry.text,
            model=call.model_name,
            provider=call.provider.kind,
            finish_reason=entry.finish_reason,
            usage=Usage(entry.usage.prompt_tokens, entry.usage.completion_tokens),
            cached=True if call.similarity is None else "semantic",
            latency_ms=(time.perf_counter() - call.start) * 1000,
            chunks=len(entry.texts),
            key=call.key,
            similarity=call.similarity,
        )

    def collector(self, call: Call, cached: bool) -> _Collector:
        if cached and call.similarity is not None:
            from .cache.semantic.cache import SemanticCollector

            return SemanticCollector(
                call.model_name, call.provider.kind, call.key, call.start, call.similarity
            )
        return _Collector(call.model_name, call.provider.kind, cached, call.key, call.start)

    def list_models(self) -> list[str]:
        """The local model, and the models of the OpenAI-compatible server when one is configured."""
        models = ["local"]
        if self.settings.openai_api_key or not self.settings.is_openai_host:
            # A prosa gateway upstream lists its own 'local' too: name each model once.
            models += [m for m in self.provider_for(DEFAULT_OPENAI_MODEL).list_models() if m not in models]
        return models

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


def _open_semantic(cache: ResponseCache | None, settings: Settings, option: Any) -> Any:
    """The semantic layer when asked for; imported only then, so numpy stays out of plain runs."""
    from_settings = option is _UNSET
    if from_settings:
        option = settings.cache_semantic
    if option is None or option is False:
        return None
    if cache is None:
        if from_settings:
            return None  # [cache] semantic = true applies to the doors that have a cache
        raise InvalidRequest(
            "semantic needs a cache: pass cache='memory', 'sqlite' or a path too", "semantic"
        )
    from .cache.semantic.cache import SemanticCache
    from .cache.semantic.policy import SemanticPolicy

    policy = SemanticPolicy.from_option(
        option, settings.cache_semantic_threshold, settings.cache_semantic_embedder
    )
    return None if policy is None else SemanticCache(cache, policy, settings)


def _params(
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    top_p: float | None,
    stop: str | Sequence[str] | None,
    seed: int | None,
    presence_penalty: float | None,
    frequency_penalty: float | None,
    response_format: Mapping[str, Any] | None,
    tools: Sequence[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    return {
        "system": system,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "top_p": top_p,
        "stop": stop,
        "seed": seed,
        "presence_penalty": presence_penalty,
        "frequency_penalty": frequency_penalty,
        "response_format": response_format,
        "tools": tools,
    }


class Client(_Base):
    """Ask a model, synchronously.

    ``Client()`` uses OpenAI when a key is configured, else the embedded local model.
    ``cache`` is a store, ``"memory"``, ``"sqlite"``, ``"sqlite:///path.db"``, a path, or None.
    """

    @overload
    def chat(self, prompt: PromptInput, *, stream: Literal[False] = False, **kw: Any) -> Reply: ...
    @overload
    def chat(self, prompt: PromptInput, *, stream: Literal[True], **kw: Any) -> ChatStream: ...

    def chat(
        self,
        prompt: PromptInput,
        *,
        system: str | None = None,
        model: str | None = None,
        stream: bool = False,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        response_format: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        refresh: bool = False,
        use_cache: bool = True,
        pace: bool = False,
        persona: Any = None,
        data: Any = None,
    ) -> Reply | ChatStream:
        """Ask a question (a string) or continue a conversation (a list of role/content messages).

        ``stream=True`` returns a :class:`ChatStream` of chunks as they are written. ``refresh=True``
        asks the model again and overwrites the cached answer; ``use_cache=False`` bypasses the cache;
        ``pace=True`` replays a cached stream at its original speed. ``persona`` (a name or a
        :class:`prosa.grounding.Persona`) supplies a system prompt and defaults that explicit arguments
        override; ``data`` (paths, :mod:`prosa.grounding` sources, knowledge bases) is put in the system
        message within the model's context window, labelled for citation.
        """
        params = _params(
            system, temperature, max_tokens, top_p, stop, seed, presence_penalty, frequency_penalty,
            response_format, tools,
        )  # fmt: skip
        call = self.prepare(prompt, model, params, refresh, use_cache, persona=persona, data=data)
        entry = self.hit(call, refresh)
        if entry is not None and not stream:
            return self.cached_reply(call, entry)
        if entry is not None:
            result = ChatStream(replay(entry, pace and stream), self.collector(call, True), _nothing)
        else:
            result = self.ask_model(call, refresh)
        if stream:
            return result
        return result.reply

    def ask_model(self, call: Call, refresh: bool = False) -> ChatStream:
        """The model's answer to a prepared call that missed the cache: a new upstream call, or the
        identical one already in flight (single-flight), recorded for the cache as it streams."""
        flight, new = self.flight(call, refresh)
        if new:
            flight.start_thread(lambda: call.provider.stream(call.request))
        return ChatStream(flight.follow(), self.collector(call, False), flight.leave)


class AsyncClient(_Base):
    """Ask a model from asyncio: ``await client.chat(...)``; ``async for c in await client.chat(..., stream=True)``."""

    @overload
    async def chat(self, prompt: PromptInput, *, stream: Literal[False] = False, **kw: Any) -> Reply: ...
    @overload
    async def chat(self, prompt: PromptInput, *, stream: Literal[True], **kw: Any) -> AsyncChatStream: ...

    async def chat(
        self,
        prompt: PromptInput,
        *,
        system: str | None = None,
        model: str | None = None,
        stream: bool = False,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        response_format: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        refresh: bool = False,
        use_cache: bool = True,
        pace: bool = False,
        persona: Any = None,
        data: Any = None,
    ) -> Reply | AsyncChatStream:
        """Same arguments as :meth:`Client.chat`; returns a Reply or an :class:`AsyncChatStream`."""
        params = _params(
            system, temperature, max_tokens, top_p, stop, seed, presence_penalty, frequency_penalty,
            response_format, tools,
        )  # fmt: skip
        call = self.prepare(prompt, model, params, refresh, use_cache, persona=persona, data=data)
        entry = self.hit(call, refresh)
        if entry is not None and not stream:
            return self.cached_reply(call, entry)
        if entry is not None:
            result = AsyncChatStream(areplay(entry, pace and stream), self.collector(call, True), _nothing)
        else:
            result = self.ask_model(call, refresh)
        if stream:
            return result
        return await result.collect()

    def ask_model(self, call: Call, refresh: bool = False) -> AsyncChatStream:
        """The async twin of :meth:`Client.ask_model` (the gateway calls it for its misses)."""
        flight, new = self.flight(call, refresh)
        if new:
            flight.start_task(lambda: call.provider.astream(call.request))
        return AsyncChatStream(flight.afollow(), self.collector(call, False), flight.leave)

    async def aclose(self) -> None:
        self.close()


def _nothing() -> None:
    pass
