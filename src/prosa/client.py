"""Client and AsyncClient: the Python door. Both share one pipeline; only the waiting differs.

request -> cache lookup -> hit: replay the recorded chunks
                        -> miss: a Flight pumps the provider's stream, recording as it goes
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic, Literal, TypeVar, overload

from .cache.cache import Hit, ResponseCache, open_cache
from .cache.controls import check_name
from .cache.entry import Entry
from .cache.flight import Flight, shared_flight
from .cache.flight_hooks import task_hooks, thread_hooks
from .cache.replay import areplay, replay
from .config import DEFAULT_OPENAI_MODEL, Settings, load_settings
from .errors import InvalidRequest, NotCached
from .providers.base import Provider
from .reply import Chunk, Reply
from .request import Call, ChatRequest, PromptInput, canonical_model, is_local_model
from .stream import AsyncChatStream, ChatStream, Collector, reply_of

_UNSET: Any = object()


S = TypeVar("S", ChatStream, AsyncChatStream)


class _Base(Generic[S]):
    """What Client and AsyncClient share: every step but the waiting. Each subclass adds its driver
    (the blocking or the awaited lookup, a thread or a task pump) and its stream type."""

    _Stream: type[S]
    _replay: Callable[..., Any]
    _hooks: Callable[..., dict[str, Any]]  # a flight's store hooks: blocking, or their async twins
    _fly: Callable[[Flight, Call, bool], Any]  # start the pump (when new); the flight's chunks

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
        namespace: str | None = None,
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
        # Answers cached by this client live in this namespace: other namespaces never see them.
        self.namespace = "" if namespace is None else check_name(namespace)
        self.cache: ResponseCache | None = open_cache(
            self.settings.cache if cache is _UNSET else cache, self.settings
        )
        self.semantic = _open_semantic(self.cache, self.settings, semantic)
        self._providers: dict[str, Provider] = {}
        self._embedder: Any = None

    # -- the shared pipeline -------------------------------------------------------------------------
    def default_model(self) -> str:
        # With no key and no model named, the local model answers; the local provider says so once per
        # machine when it first answers (prosa.notice), never here, before the request is validated.
        return self.model or self.settings.model_for(self.provider_kind)

    def provider_for(self, model: str) -> Provider:
        is_local = is_local_model(model)
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
        scope: str = "",
    ) -> Call:
        """Validate a request and decide its key. ``scope`` (a tenant and/or namespace, see
        :mod:`prosa.cache.controls`) keeps its cached answers apart from every other scope's."""
        start = time.perf_counter()
        if persona is not None or data is not None:
            # Imported only when asked for, so a plain request's hot path never loads grounding.
            from .grounding.context import ground

            # The data lands in the request's system message, so the cache key covers what is sent.
            request = ground(self, prompt, model, params, persona, data)[0]
        else:
            name = canonical_model(model or self.default_model())  # the local model's aliases share entries
            request = ChatRequest.build(prompt, model=name, **params)
        if scope:
            request = request.with_scope(scope)
        provider = self.provider_for(request.model)
        cache = self.cache
        key = None
        save = False
        if cache is not None and use_cache:
            if cache.cacheable(request):
                key = cache.key(provider.identity, request)
                save = True
            elif not refresh:
                cache.count("bypasses", request.scope)
        return Call(request, provider, provider.model_name(request), key, save, start)

    def _settle(
        self, call: Call, refresh: bool, entry: Entry | None, found: Hit | None, max_age: float | None,
        only_if_cached: bool,
    ) -> tuple[Hit | None, bool]:  # fmt: skip
        """What a lookup found, under the per-request controls (shared by look and alook): a fresh exact
        hit, else a fresh semantic one, else a miss, counted in the totals and the call's scope; and
        whether a miss must overwrite (under ``max_age``). A miss under ``only_if_cached`` raises
        :class:`NotCached`: the model is never called."""
        hit = None
        if call.key is not None and not refresh:  # else nothing was looked up
            cache = self.cache
            assert cache is not None
            scope = call.request.scope
            if entry is not None and (max_age is None or time.time() - entry.created <= max_age):
                hit = Hit(entry, call.key)
            elif found is not None and (max_age is None or time.time() - found.entry.created <= max_age):
                hit = found  # a semantic hit: the exact match was tried first and missed
            if hit is not None:
                cache.count_hit(hit.entry, scope)
            else:
                cache.count("misses", scope)
        if hit is None:
            if only_if_cached:
                raise NotCached(
                    "no cached answer for this request and only-if-cached was asked, so the model was not "
                    "called; ask without only-if-cached (or with a larger max-age) to get an answer"
                )
            if max_age is not None:
                refresh = True
        return hit, refresh

    def flight(self, call: Call, refresh: bool, ttl: float | None = None) -> tuple[Flight, bool]:
        """The flight answering this call: an identical one already in progress, or a new one. ``ttl``
        (seconds) is the lifetime of the answer it stores (the first caller's, when joined)."""
        cache = self.cache

        def make(registry_key: tuple[str, str] | None) -> Flight:
            if not call.save or cache is None:
                return Flight(registry_key)
            hooks = self._hooks(cache, self.semantic, call, refresh, self.settings.timeout, ttl)
            return Flight(registry_key, **hooks)

        if call.key is None or refresh or cache is None:
            flight = make(None)
            flight.join()
            return flight, True
        return shared_flight((cache.store.place, call.key), make)

    def _call(
        self, prompt: PromptInput, system: str | None, model: str | None, params: dict[str, Any],
        refresh: bool, use_cache: bool, persona: Any, data: Any, namespace: str | None,
    ) -> Call:  # fmt: skip
        """chat()'s first step: its arguments made a prepared call."""
        if system is not None:
            params["system"] = system
        scope = self.scope_of(namespace)
        return self.prepare(
            prompt, model, params, refresh, use_cache, persona=persona, data=data, scope=scope
        )

    def _answer(
        self, call: Call, hit: Hit | None, refresh: bool, stream: bool, pace: bool, ttl: int | None
    ) -> Any:
        """chat()'s step after the lookup: a whole cached answer, a replayed stream, or the model's
        stream (a miss). Only reading a miss to its end is left to the caller (blocking or awaited)."""
        if hit is None:
            return self.ask_model(call, refresh, _seconds(ttl, "ttl"))
        if not stream:
            return self.cached_reply(call, hit)
        return self._Stream(self._replay(hit.entry, pace), self.collector(call, hit), _nothing)

    def ask_model(self, call: Call, refresh: bool = False, ttl: float | None = None) -> S:
        """The model's answer to a prepared call that missed the cache (the gateway's misses too): a new
        upstream call, or the identical one in flight (single-flight), recorded as it streams."""
        flight, new = self.flight(call, refresh, ttl)
        return self._Stream(self._fly(flight, call, new), self.collector(call, None), flight.leave)

    def cached_reply(self, call: Call, hit: Hit) -> Reply:
        """A whole answer straight from an entry: the hot path of a non-streaming hit makes no chunks."""
        entry = hit.entry
        return reply_of(
            entry.completion, call.model_name, call.provider.kind, hit.cached, call.start, len(entry.records),
            hit.key, hit.similarity, hit.score,
        )  # fmt: skip

    def collector(self, call: Call, hit: Hit | None) -> Collector:
        if hit is None:
            return Collector(call.model_name, call.provider.kind, False, call.key, call.start)
        return Collector(
            call.model_name, call.provider.kind, hit.cached, hit.key, call.start, hit.similarity, hit.score
        )

    def scope_of(self, namespace: str | None) -> str:
        """The cache scope of a call: its own namespace, else the client's."""
        return self.namespace if namespace is None else check_name(namespace)

    def embeddings(self) -> Any:
        """The embeddings pipeline over this client's cache (made on first use: it needs numpy)."""
        service = self._embedder
        if service is None:
            from .embeddings.service import EmbeddingService

            service = self._embedder = EmbeddingService(self.cache, self.settings)
        return service

    def embed_request(self, input: Any, model: str | None, params: dict[str, Any]) -> Any:  # noqa: A002
        from .embeddings.request import EmbedRequest

        return EmbedRequest.build(input, model=model or self.embeddings().default_model(), **params)

    def _embedding(
        self, input: Any, model: str | None, use_cache: bool, refresh: bool, namespace: str | None,  # noqa: A002
        params: dict[str, Any],
    ) -> Callable[[], Any]:  # fmt: skip
        """embed()'s work, validated and ready to run (blocking: in a thread for AsyncClient)."""
        request = self.embed_request(input, model, params)
        scope = self.scope_of(namespace)
        return functools.partial(
            self.embeddings().embed, request, use_cache=use_cache, refresh=refresh, scope=scope
        )

    def list_models(self) -> list[str]:
        """The local model, and the models of the OpenAI-compatible server when one is configured."""
        models = ["local"]
        if self.settings.has_upstream:
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
        option, settings.cache_semantic_threshold, settings.cache_semantic_embedder,
        settings.cache_semantic_strictness,
    )  # fmt: skip
    return None if policy is None else SemanticCache(cache, policy, settings)


class Client(_Base[ChatStream]):
    """Ask a model, synchronously.

    ``Client()`` uses OpenAI when a key is configured, else the embedded local model.
    ``cache`` is a store, ``"memory"``, ``"sqlite"``, ``"sqlite:///path.db"``, a path, or None.
    """

    _Stream = ChatStream
    _replay = staticmethod(replay)
    _hooks = staticmethod(thread_hooks)

    @overload
    def chat(self, prompt: PromptInput, *, stream: Literal[False] = False, **kw: Any) -> Reply: ...
    @overload
    def chat(self, prompt: PromptInput, *, stream: Literal[True], **kw: Any) -> ChatStream: ...

    def chat(
        self, prompt: PromptInput, *, system: str | None = None, model: str | None = None, stream: bool = False,
        refresh: bool = False, use_cache: bool = True, pace: bool = False, persona: Any = None, data: Any = None,
        namespace: str | None = None, max_age: int | None = None, ttl: int | None = None,
        only_if_cached: bool = False, **params: Any,
    ) -> Reply | ChatStream:  # fmt: skip
        """Ask a question (a string) or continue a conversation (a list of messages).

        Messages are mappings with every role and field of the Chat Completions API (content parts,
        assistant ``tool_calls``, ``tool`` results...) or a previous :class:`Reply`. Any other keyword
        is a request field sent as given and keyed: ``temperature``, ``max_tokens``, ``tools``,
        ``tool_choice``, ``n``, ``logprobs``, ``response_format``, or a server's own (``top_k``...).

        ``stream=True`` returns a :class:`ChatStream` of chunks as they are written. ``refresh=True``
        asks the model again and overwrites the cached answer; ``use_cache=False`` bypasses the cache;
        ``pace=True`` replays a cached stream at its original speed. ``persona`` (a name or a
        :class:`prosa.grounding.Persona`) supplies a system prompt and defaults that explicit arguments
        override; ``data`` (paths, :mod:`prosa.grounding` sources, knowledge bases) is put in the system
        message within the model's context window, labelled for citation.

        Per-request cache controls: ``namespace`` caches the answer apart from every other namespace
        (default: the client's); ``max_age`` (seconds) serves a stored answer only if it is at most that
        old, else asks again and overwrites it; ``ttl`` (seconds) is how long the stored answer lives;
        ``only_if_cached=True`` never calls the model and raises :class:`prosa.errors.NotCached` on a miss.
        """
        call = self._call(prompt, system, model, params, refresh, use_cache, persona, data, namespace)
        hit, refresh = self.look(call, refresh, _seconds(max_age, "max_age"), only_if_cached)
        result = self._answer(call, hit, refresh, stream, pace, ttl)
        return result if stream or hit is not None else result.reply

    def look(
        self, call: Call, refresh: bool, max_age: float | None = None, only_if_cached: bool = False
    ) -> tuple[Hit | None, bool]:
        """The hit for a call (the exact entry, else a semantic one when enabled) under the per-request
        controls, and whether a miss must overwrite: see ``_settle``."""
        entry = found = None
        if call.key is not None and not refresh:
            entry = self.cache.lookup(call.key)  # type: ignore[union-attr]
            if entry is None and self.semantic is not None:
                found = self.semantic.lookup(call)
        return self._settle(call, refresh, entry, found, max_age, only_if_cached)

    def _fly(self, flight: Flight, call: Call, new: bool) -> Iterator[Chunk]:
        if new:
            flight.start_thread(lambda: call.provider.stream(call.request))
        return flight.follow()

    def embed(
        self, input: Any, *, model: str | None = None, use_cache: bool = True, refresh: bool = False,  # noqa: A002
        namespace: str | None = None, **params: Any,
    ) -> Any:  # fmt: skip
        """Embed a text or a list of texts (or token arrays); returns :class:`prosa.embeddings.Embeddings`.

        Each input's vector is cached on its own: a batch whose inputs are partly cached sends only the
        new ones to the model. ``model="local"`` (alias ``minilm``) is the bundled all-MiniLM-L6-v2,
        offline; any other model goes to the OpenAI-compatible server. ``dimensions`` and any other
        field go upstream and into the key.
        """
        return self._embedding(input, model, use_cache, refresh, namespace, params)()


class AsyncClient(_Base[AsyncChatStream]):
    """Ask a model from asyncio: ``await client.chat(...)``; ``async for c in await client.chat(..., stream=True)``."""

    _Stream = AsyncChatStream
    _replay = staticmethod(areplay)
    _hooks = staticmethod(task_hooks)  # no store call on the loop

    @overload
    async def chat(self, prompt: PromptInput, *, stream: Literal[False] = False, **kw: Any) -> Reply: ...
    @overload
    async def chat(self, prompt: PromptInput, *, stream: Literal[True], **kw: Any) -> AsyncChatStream: ...

    async def chat(
        self, prompt: PromptInput, *, system: str | None = None, model: str | None = None, stream: bool = False,
        refresh: bool = False, use_cache: bool = True, pace: bool = False, persona: Any = None, data: Any = None,
        namespace: str | None = None, max_age: int | None = None, ttl: int | None = None,
        only_if_cached: bool = False, **params: Any,
    ) -> Reply | AsyncChatStream:  # fmt: skip
        """Same arguments as :meth:`Client.chat`; returns a Reply or an :class:`AsyncChatStream`."""
        call = self._call(prompt, system, model, params, refresh, use_cache, persona, data, namespace)
        hit, refresh = await self.alook(call, refresh, _seconds(max_age, "max_age"), only_if_cached)
        result = self._answer(call, hit, refresh, stream, pace, ttl)
        return result if stream or hit is not None else await result.collect()

    async def alook(
        self, call: Call, refresh: bool, max_age: float | None = None, only_if_cached: bool = False
    ) -> tuple[Hit | None, bool]:
        """The async twin of :meth:`Client.look`: the store through its async side (bounded, never
        blocking the loop), the semantic lookup (an embedding) in a thread."""
        entry = found = None
        if call.key is not None and not refresh:
            from .cache.async_cache import alookup

            entry = await alookup(self.cache, call.key)  # type: ignore[arg-type]
            if entry is None and self.semantic is not None:
                import asyncio

                found = await asyncio.to_thread(self.semantic.lookup, call)
        return self._settle(call, refresh, entry, found, max_age, only_if_cached)

    def _fly(self, flight: Flight, call: Call, new: bool) -> AsyncIterator[Chunk]:
        if new:
            flight.start_task(lambda: call.provider.astream(call.request))
        return flight.afollow()

    async def embed(
        self, input: Any, *, model: str | None = None, use_cache: bool = True, refresh: bool = False,  # noqa: A002
        namespace: str | None = None, **params: Any,
    ) -> Any:  # fmt: skip
        """The async twin of :meth:`Client.embed` (the work runs in a thread: the loop never blocks)."""
        import asyncio

        return await asyncio.to_thread(self._embedding(input, model, use_cache, refresh, namespace, params))

    async def aclose(self) -> None:
        self.close()


def _nothing() -> None:
    pass


def _seconds(value: int | None, what: str) -> int | None:
    if value is None:
        return None
    from .cache.controls import seconds

    return seconds(value, what, 1 if what == "ttl" else 0)
