"""The gateway's chat pipeline: an OpenAI request body in, an OpenAI-shaped answer out.

It goes through the library's own steps (``AsyncClient.prepare`` -> ``hit`` -> ``flight``), the
same path as ``AsyncClient.chat``, one level down so that a hit is rendered straight from the
cache entry (no per-chunk iteration) and a bypass can be told apart from a miss. One Gateway per
worker process holds the shared cache and what the requests share, each concern in its own module:
the upstream's clients (upstream.py), who may ask what (admission.py), the validated bodies
(request_memo.py), the counters (stats.py), the waiting and relaying of a miss (relay.py) and the
rendering of an answer (answers.py, openai_json.py). Nothing here blocks on the network.
"""

from __future__ import annotations

import copy
import json
import time

from starlette.responses import StreamingResponse
from starlette.types import Receive

from ..cache.cache import open_cache
from ..cache.controls import cache_control, seconds
from ..client import AsyncClient
from ..config import load_settings
from ..request import Call
from .admission import Admission
from .answers import JSON, SSE, Answer, ClientGone, Fixed, hit_answer
from .config import GatewayConfig
from .errors import HTTPError
from .openai_json import ChatArgs, completion_body, completion_tail, parse_chat
from .relay import next_chunk, relay_chat, until_disconnect
from .request_memo import MEMO_BODY, RequestMemo
from .security import RequestHeaders
from .stats import GatewayStats
from .tenants import Tenant, Tenants
from .upstream import Upstream

__all__ = ["JSON", "SSE", "Answer", "ClientGone", "Fixed", "Gateway"]


class Gateway:
    """Everything shared by the requests of one worker process: settings, the cache, clients, counters."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.settings = load_settings(openai_base_url=config.upstream)
        self.cache = open_cache(self.settings.cli_cache(config.cache), self.settings)
        self.forward_key = config.forward_key
        self.upstream = Upstream(self.settings, self.cache, config)
        self.tenants = Tenants.from_config(config.keys, config.keys_file, config.shared_cache)
        self.admission = Admission(self.tenants, self.upstream)
        self.memo = RequestMemo()
        self.stats = GatewayStats(
            self.cache, self.settings.prices, config.stats_points, config.stats_interval
        )
        self.metrics = self.stats.metrics

    def parse(
        self, body: bytes, tag: str, scope: str, client: AsyncClient, refresh: bool, use_cache: bool
    ) -> tuple[ChatArgs, Call]:
        """The validated request for a body, remembered by its exact bytes when it can be cached."""
        remember = use_cache and not refresh and len(body) <= MEMO_BODY
        if remember:
            known = self.memo.get((tag, scope, body))
            if known is not None:
                return known
        try:
            data = json.loads(body.decode())
        except (ValueError, RecursionError):  # also a body that is not UTF-8, or nested too deep
            raise HTTPError(400, "the request body is not valid JSON", code="invalid_json") from None
        args = parse_chat(data)
        self.admission.require_served(args.model)
        call = client.prepare(args.messages, args.model, args.params, refresh, use_cache, scope=scope)
        if remember and call.key is not None:
            self.memo.put((tag, scope, body), args, call)
        return args, call

    async def chat(self, body: bytes, headers: RequestHeaders, tenant: Tenant, receive: Receive) -> Answer:
        """Answer one chat completion; raise for anything that is not a 200 before the answer starts."""
        tag, client, scope = self.admission.admit(headers, tenant)
        directives = cache_control(headers.cache_control.decode("latin-1") if headers.cache_control else None)
        refresh, use_cache = directives.refresh, directives.use_cache
        ttl = None if headers.ttl is None else seconds(headers.ttl.decode("latin-1"), "x-prosa-ttl", 1)
        args, call = self.parse(body, tag, scope, client, refresh, use_cache)
        self.admission.allow_model(tenant, args.model)
        upstream = self.upstream
        unverified = upstream.unverified(tag, call.provider.kind == "local")
        if unverified:
            refresh = True  # a key the upstream never accepted must not read answers others paid for
        hit, refresh = await client.alook(call, refresh, directives.max_age, directives.only_if_cached)
        if hit is not None:
            self.stats.hit(hit.entry, tenant.counters)
            return hit_answer(hit, args.stream, args.include_usage)
        call = copy.copy(call)  # a remembered call: this answer's clock starts now
        call.start = time.perf_counter()
        state = self.stats.sent_upstream(call.key is not None, tenant.counters)
        metrics = self.metrics
        stream = client.ask_model(call, refresh, ttl)  # the same miss path as AsyncClient.chat
        if not args.stream:
            reply = await until_disconnect(stream.collect(), receive, metrics)
            metrics.answer.observe(time.perf_counter() - call.start)
            if unverified:
                upstream.verify(tag)
            assert reply.completion is not None
            body = completion_body(completion_tail(reply.completion))
            return Fixed(200, [(b"content-type", JSON.encode()), (b"x-prosa-cache", state.encode())], body)
        # Wait for the first chunk before sending headers, so an upstream failure is still a proper status.
        first = await until_disconnect(next_chunk(stream), receive, metrics)
        metrics.first_chunk.observe(time.perf_counter() - call.start)
        if unverified:
            upstream.verify(tag)
        # no-cache: proxies (and browsers) must not keep the stream; x-accel-buffering: nginx must not buffer it.
        answer_headers = {"x-prosa-cache": state, "cache-control": "no-cache", "x-accel-buffering": "no"}
        relay = relay_chat(stream, first, args.include_usage, call.start, metrics, self.forward_key)
        return StreamingResponse(relay, headers=answer_headers, media_type=SSE)

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
