"""What the gateway reports: each answer counted (this process, and its tenant), the dashboard's
series sampled in the background, and the numbers /prosa/stats and /metrics show."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from ..cache.cache import ResponseCache
from ..cache.entry import Entry
from ..config import cost_usd
from .metrics import Metrics, Series
from .tenants import Tenant, TenantCounters, Tenants

log = logging.getLogger("prosa.server")


class GatewayStats:
    """This process's counters and series, and the shared cache's own counters read off the event loop."""

    def __init__(
        self,
        cache: ResponseCache | None,
        prices: dict[str, tuple[float, float]],
        points: int,
        interval: float,
    ) -> None:
        self.cache = cache
        self.prices = prices
        self.interval = interval
        self.metrics = Metrics()
        self.series = Series(points)

    def hit(self, entry: Entry, counts: TenantCounters) -> None:
        """Count a cache hit, with the tokens and dollars it saved, for the process and the tenant."""
        self.metrics.cache["hit"] += 1
        counts.hits += 1
        usage = entry.usage
        usd = cost_usd(self.prices, entry.model, usage)
        self.metrics.tokens_saved += usage.total_tokens
        self.metrics.usd_saved += usd
        counts.tokens_saved += usage.total_tokens
        counts.usd_saved += usd

    def sent_upstream(self, cached: bool, counts: TenantCounters) -> str:
        """Count a request the upstream answers: a miss (its answer will be cached) or a bypass.

        Returns the x-prosa-cache value to send."""
        if cached:
            state = "miss"
            counts.misses += 1
        else:
            state = "bypass"
            counts.bypasses += 1
        self.metrics.cache[state] += 1
        return state

    async def store(self) -> dict[str, Any] | None:
        """The cache's own counters (shared by every process using it), read off the event loop."""
        if self.cache is None:
            return None
        return await asyncio.to_thread(self.cache.stats)

    async def sample_forever(self) -> None:
        """Add a point to the dashboard's series every ``interval`` seconds."""
        while True:
            try:
                stats = await self.store()
                self.series.add(stats if stats is not None else self.own())
            except Exception as e:  # noqa: BLE001 - a failed sample must not stop the sampler
                log.debug("stats sample failed: %s", e)
            await asyncio.sleep(self.interval)

    def own(self) -> dict[str, Any]:
        """This process's cache outcomes and savings (the numbers when there is no shared cache)."""
        m = self.metrics
        return {"hits": m.cache["hit"], "misses": m.cache["miss"], "bypasses": m.cache["bypass"],
                "tokens_saved": m.tokens_saved, "usd_saved": round(m.usd_saved, 6)}  # fmt: skip

    async def overview(self, tenants: Tenants) -> dict[str, Any]:
        """/prosa/stats for an admin (or with no keys): the whole cache, this process, the series."""
        store = await self.store()
        m = self.metrics
        return {
            "cache": store,
            "gateway": {**self.own(), "requests": sum(m.status.values()),
                        "uptime_s": round(time.time() - m.started, 1), "pid": os.getpid()},
            "series": self.series.with_now(store if store is not None else self.own()),
            "interval_s": self.interval,
            "tenants": [t.name for t in tenants.all] if tenants.required else [],
        }  # fmt: skip

    async def tenant(self, tenant: Tenant) -> dict[str, Any]:
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
                "series": self.series.with_now(cache or own)[-1:], "interval_s": self.interval,
                "tenants": [tenant.name]}  # fmt: skip
