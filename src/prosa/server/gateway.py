"""The gateway's chat pipeline: an OpenAI request body in, an OpenAI-shaped answer out.

It goes through the library's own steps (``AsyncClient.prepare`` -> ``hit`` -> ``flight``), the
same path as ``AsyncClient.chat``, one level down so that a hit is rendered straight from the
cache entry (no per-chunk iteration) and a bypass can be told apart from a miss. One Gateway per
worker process holds the shared cache and the clients; nothing here blocks on the network.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from starlette.responses import StreamingResponse
from starlette.types import Receive

from ..cache.cache import open_cache
from ..cache.controls import cache_control, check_name, join_scope, seconds
from ..client import AsyncClient, Call
from ..config import Settings, cost_usd, load_settings
from ..reply import Chunk
from ..request import is_local_model
from ..stream import AsyncChatStream
from .answers import JSON, SSE, Answer, ClientGone, Fixed, hit_answer
from .config import GatewayConfig
from .errors import HTTPError, to_http
from .metrics import Metrics, Series
from .openai_json import (
    DONE,
    ChatArgs,
    Frames,
    chunk_tail,
    completion_body,
    completion_tail,
    error_frame,
    parse_chat,
)
from .security import RequestHeaders
from .tenants import Tenant, Tenants

__all__ = ["JSON", "SSE", "Answer", "ClientGone", "Fixed", "Gateway"]

log = logging.getLogger("prosa.server")
_T = TypeVar("_T")

MAX_CLIENTS = 64  # per-caller clients kept with --forward-key (least recently used go first)
MEMO_SIZE = 4096  # validated requests remembered by their exact body...
MEMO_BODY = 8192  # ...when the body is at most this long...
MEMO_BYTES = 4_000_000  # ...and while all remembered bodies add up to at most this


class Gateway:
    """Everything shared by the requests of one worker process: settings, the cache, clients, counters."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.settings = load_settings(openai_base_url=config.upstream)
        self.cache = open_cache(self.settings.cli_cache(config.cache), self.settings)
        self.forward_key = config.forward_key
        # With --forward-key the gateway's own upstream key is never used: callers bring theirs.
        base = _with_key(self.settings, None) if self.forward_key else self.settings
        self.client = AsyncClient(cache=self.cache, settings=base)
        self._clients: OrderedDict[str, AsyncClient] = OrderedDict()
        self.has_upstream = self.settings.has_upstream or self.forward_key
        self.prices = self.settings.prices
        self.tenants = Tenants.from_config(config.keys, config.keys_file, config.shared_cache)
        # Validated requests by (caller tag, scope, body): the scope is not in the body, so it is in the key.
        self._calls: dict[tuple[str, str, bytes], tuple[ChatArgs, Call]] = {}
        # With --forward-key, the callers' keys the upstream has accepted: only they may read the cache.
        self._verified: set[str] = set()
        self._calls_bytes = 0
        self.metrics = Metrics()
        self.series = Series(config.stats_points)
        self._models: dict[str, tuple[float, list[str]]] = {}

    def client_for(self, bearer: str | None) -> tuple[str, AsyncClient]:
        """A tag naming the caller, and its client: one per forwarded key (held only in memory).

        The tag is a digest of the key, so no dict here is keyed by a secret; "" is the gateway's own.
        """
        if not self.forward_key or not bearer:
            return "", self.client
        tag = hashlib.sha256(bearer.encode()).hexdigest()
        client = self._clients.get(tag)
        if client is None:
            client = AsyncClient(cache=self.cache, settings=_with_key(self.settings, bearer))
            self._clients[tag] = client
            if len(self._clients) > MAX_CLIENTS:
                # Not closed: close() would close the shared cache. Its HTTP pool goes with the object.
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(tag)
        return tag, client

    # -- chat --------------------------------------------------------------------------------------
    def parse(
        self, body: bytes, tag: str, scope: str, client: AsyncClient, refresh: bool, use_cache: bool
    ) -> tuple[ChatArgs, Call]:
        """The validated request for a body, remembered by its exact bytes when it can be cached.

        Clients repeat byte-identical bodies (that is what a cache hit is), so a repeat skips JSON
        decoding and validation; it was validated the first time, with the same rules.
        """
        remember = use_cache and not refresh and len(body) <= MEMO_BODY
        if remember:
            known = self._calls.get((tag, scope, body))
            if known is not None:
                return known
        try:
            data = json.loads(body.decode())
        except (ValueError, RecursionError):  # also a body that is not UTF-8, or nested too deep
            raise HTTPError(400, "the request body is not valid JSON", code="invalid_json") from None
        args = parse_chat(data)
        self.require_served(args.model)
        call = client.prepare(args.messages, args.model, args.params, refresh, use_cache, scope=scope)
        if remember and call.key is not None:
            self._remember((tag, scope, body), args, call)
        return args, call

    def require_served(self, model: str) -> None:
        """A 404 for a model this gateway cannot answer: any but 'local' when there is no upstream."""
        if not self.has_upstream and not is_local_model(model):
            raise HTTPError(
                404,
                f"model {model!r} is not served here: this gateway has no upstream, only 'local'; "
                "start it with --upstream URL or an OpenAI key",
                param="model",
                code="model_not_found",
            )

    def _remember(self, key: tuple[str, str, bytes], args: ChatArgs, call: Call) -> None:
        calls = self._calls
        self._calls_bytes += len(key[2])
        while calls and (len(calls) >= MEMO_SIZE or self._calls_bytes > MEMO_BYTES):
            oldest = next(iter(calls))  # dicts keep insertion order
            del calls[oldest]
            self._calls_bytes -= len(oldest[2])
        calls[key] = (args, call)

    def admit(self, headers: RequestHeaders, tenant: Tenant) -> tuple[str, AsyncClient, str]:
        """The caller's client tag, client and cache scope, after its rate limit (429 past it).

        Every route that reads the cache goes through here, so a tenant's scope is the same on all."""
        wait = tenant.wait() if tenant.rpm else 0
        if wait:
            raise HTTPError(429, f"key {tenant.name!r} is over its limit of {tenant.rpm} requests per minute; "
                            f"retry after {wait} s", "rate_limit_error", None, "rate_limit_exceeded",
                            {b"retry-after": b"%d" % wait})  # fmt: skip
        scope = tenant.scope
        bearer = headers.bearer() if self.forward_key else None  # only a forwarded key matters here
        bearer_text = None if bearer is None else bearer.decode("latin-1")
        if bearer_text and self.tenants.required and not self.tenants.shared:
            scope = self.tenants.caller(bearer_text).scope  # the caller's upstream key is the tenant
        if headers.namespace is not None:
            scope = join_scope(scope, check_name(headers.namespace.decode("latin-1"), "x-prosa-namespace"))
        tag, client = self.client_for(bearer_text)
        return tag, client, scope

    def allow_model(self, tenant: Tenant, model: str) -> None:
        if tenant.models is not None and not tenant.allows(model):
            raise HTTPError(403, f"key {tenant.name!r} may not use the model {model!r}; ask the gateway's "
                            "operator to add it to the key's models", "permission_error", "model",
                            "model_not_allowed")  # fmt: skip

    async def chat(self, body: bytes, headers: RequestHeaders, tenant: Tenant, receive: Receive) -> Answer:
        """Answer one chat completion; raise for anything that is not a 200 before the answer starts."""
        tag, client, scope = self.admit(headers, tenant)
        directives = cache_control(headers.cache_control.decode("latin-1") if headers.cache_control else None)
        refresh, use_cache = directives.refresh, directives.use_cache
        ttl = None if headers.ttl is None else seconds(headers.ttl.decode("latin-1"), "x-prosa-ttl", 1)
        args, call = self.parse(body, tag, scope, client, refresh, use_cache)
        self.allow_model(tenant, args.model)
        unverified = self.forward_key and tag not in self._verified and call.provider.kind != "local"
        if unverified:
            refresh = True  # a key the upstream never accepted must not read answers others paid for
        hit, refresh = await client.alook(call, refresh, directives.max_age, directives.only_if_cached)
        metrics = self.metrics
        counts = tenant.counters
        if hit is not None:
            entry = hit.entry
            metrics.cache["hit"] += 1
            counts.hits += 1
            usage = entry.usage
            usd = cost_usd(self.prices, entry.model, usage)
            metrics.tokens_saved += usage.total_tokens
            metrics.usd_saved += usd
            counts.tokens_saved += usage.total_tokens
            counts.usd_saved += usd
            return hit_answer(hit, args.stream, args.include_usage)
        call = copy.copy(call)  # a remembered call: this answer's clock starts now
        call.start = time.perf_counter()
        if call.key is not None:
            state = "miss"
            counts.misses += 1
        else:
            state = "bypass"
            counts.bypasses += 1
        metrics.cache[state] += 1
        stream = client.ask_model(call, refresh, ttl)  # the same miss path as AsyncClient.chat
        if not args.stream:
            reply = await self._until_disconnect(stream.collect(), receive)
            metrics.answer.observe(time.perf_counter() - call.start)
            if unverified:
                self._verify(tag)
            assert reply.completion is not None
            body = completion_body(completion_tail(reply.completion))
            return Fixed(200, [(b"content-type", JSON.encode()), (b"x-prosa-cache", state.encode())], body)
        # Wait for the first chunk before sending headers, so an upstream failure is still a proper status.
        first = await self._until_disconnect(_next(stream), receive)
        metrics.first_chunk.observe(time.perf_counter() - call.start)
        if unverified:
            self._verify(tag)
        # no-cache: proxies (and browsers) must not keep the stream; x-accel-buffering: nginx must not buffer it.
        answer_headers = {"x-prosa-cache": state, "cache-control": "no-cache", "x-accel-buffering": "no"}
        body = self._relay(stream, first, args.include_usage, call.start)
        return StreamingResponse(body, headers=answer_headers, media_type=SSE)

    def _verify(self, tag: str) -> None:
        if len(self._verified) >= 100_000:  # bounded: forgetting only costs one more upstream call each
            self._verified.clear()
        self._verified.add(tag)

    async def _relay(
        self, stream: AsyncChatStream, first: Chunk | None, include_usage: bool, start: float
    ) -> AsyncIterator[bytes]:
        """A miss, as SSE frames sent the moment each chunk arrives. Cancelled when the client leaves."""
        frames = Frames()
        try:
            if first is not None:
                tail = chunk_tail(first.data, include_usage)
                if tail is not None:
                    yield frames.frame(tail)
                async for chunk in stream:
                    tail = chunk_tail(chunk.data, include_usage)
                    if tail is not None:
                        yield frames.frame(tail)
            self.metrics.answer.observe(time.perf_counter() - start)
            yield DONE
        except (asyncio.CancelledError, GeneratorExit):
            self.metrics.streams_cancelled += 1
            raise
        except Exception as e:  # noqa: BLE001 - the status is sent: report in the stream, as OpenAI does
            error = to_http(e, self.forward_key)
            yield error_frame(error.message, error.kind, error.code)
        finally:
            await stream.aclose()  # leaving the flight: when no reader is left, the upstream call stops

    async def _until_disconnect(self, work: Awaitable[_T], receive: Receive) -> _T:
        """Await ``work``, unless the client disconnects first: then cancel it (stopping the upstream)."""
        task: asyncio.Future[_T] = asyncio.ensure_future(work)
        watch = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                self.metrics.streams_cancelled += 1
            watch.cancel()
        if not task.done():
            try:
                await task  # let the cancellation run its cleanup (leaving the flight)
            except BaseException:  # noqa: BLE001
                pass
            raise ClientGone()
        return task.result()

    # -- models ------------------------------------------------------------------------------------
    async def models(self, bearer: str | None) -> list[str]:
        """'local' plus the upstream's models (cached a minute); an upstream failure leaves 'local'."""
        tag, client = self.client_for(bearer)
        cached = self._models.get(tag)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        names, ttl = ["local"], 60.0
        if self.has_upstream:
            try:
                names = await asyncio.wait_for(asyncio.to_thread(client.list_models), 10)
            except Exception as e:  # noqa: BLE001 - tolerated: the local model still works
                log.warning("could not list the upstream's models: %s", e or type(e).__name__)
                ttl = 10.0
        if len(self._models) > 1000:  # one per forwarded key: keep it bounded
            self._models.clear()
        self._models[tag] = (time.monotonic() + ttl, names)
        return names

    def warm(self) -> None:
        """Import the openai SDK ahead of the first miss (seconds on a small machine); hits never need it."""
        if self.has_upstream:
            try:
                import openai  # noqa: F401
            except ImportError:  # reported on the first request that needs it
                pass

    async def cache_stats(self) -> dict[str, Any] | None:
        """The cache's own counters (shared by every process using it), read off the event loop."""
        if self.cache is None:
            return None
        return await asyncio.to_thread(self.cache.stats)

    async def sample_forever(self) -> None:
        """Add a point to the dashboard's series every ``stats_interval`` seconds."""
        while True:
            try:
                stats = await self.cache_stats()
                self.series.add(stats if stats is not None else self.own_counters())
            except Exception as e:  # noqa: BLE001 - a failed sample must not stop the sampler
                log.debug("stats sample failed: %s", e)
            await asyncio.sleep(self.config.stats_interval)

    async def tenant_stats(self, tenant: Tenant) -> dict[str, Any]:
        """One tenant's numbers: its scope's counters in the store (every process), and this process's."""
        cache = None
        if self.cache is not None and tenant.scope:
            cache = {
                "tenant": tenant.name,
                **await asyncio.to_thread(self.cache.scope_counters, tenant.scope),
            }
        c = tenant.counters
        own = {"hits": c.hits, "misses": c.misses, "bypasses": c.bypasses, "tokens_saved": c.tokens_saved,
               "usd_saved": round(c.usd_saved, 6)}  # fmt: skip
        m = self.metrics
        return {"tenant": tenant.name, "cache": cache,
                "gateway": {**own, "requests": c.requests, "uptime_s": round(time.time() - m.started, 1)},
                "series": self.series.with_now(cache or own)[-1:], "interval_s": self.config.stats_interval,
                "tenants": [tenant.name]}  # fmt: skip

    def own_counters(self) -> dict[str, Any]:
        m = self.metrics
        return {"hits": m.cache["hit"], "misses": m.cache["miss"], "bypasses": m.cache["bypass"],
                "tokens_saved": m.tokens_saved, "usd_saved": round(m.usd_saved, 6)}  # fmt: skip

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


def _with_key(settings: Settings, key: str | None) -> Settings:
    """A copy of the settings with another upstream key (the caller's, with --forward-key)."""
    out = copy.copy(settings)
    out.openai_api_key = key
    return out


async def _next(stream: AsyncChatStream) -> Chunk | None:
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return None


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
