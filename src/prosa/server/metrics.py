"""Counters of this gateway process, /metrics in Prometheus text format, and the dashboard's time series.

Counting is a few integer additions per request. The cache's own counters (hits, misses, tokens and
money saved) live in the store, so they cover every worker and every prosa process sharing it; the
dashboard charts those.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

# Upper bounds (seconds) of the upstream latency histogram buckets.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram:
    __slots__ = ("counts", "total", "n")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1

    def lines(self, name: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{le="{le}"}} {running}')
        out += [f"{name}_sum {self.total:.6f}", f"{name}_count {self.n}"]
        return out


class Metrics:
    """What this process has done since it started."""

    def __init__(self) -> None:
        self.started = time.time()
        self.status: dict[int, int] = {}
        self.cache = {"hit": 0, "miss": 0, "bypass": 0}
        self.tokens_saved = 0
        self.usd_saved = 0.0
        self.streams_cancelled = 0
        self.first_chunk = Histogram()  # upstream time to first chunk, on misses
        self.answer = Histogram()  # upstream time to the whole answer, on misses

    def request(self, status: int) -> None:
        self.status[status] = self.status.get(status, 0) + 1

    def prometheus(self, store: dict[str, Any] | None, tenants: Sequence[Any] = ()) -> str:
        """The text exposition format; ``store`` is ResponseCache.stats() (shared by every process);
        ``tenants`` (prosa.server.tenants.Tenant) are labelled by name, never by key."""
        lines = [
            "# HELP prosa_gateway_requests_total HTTP requests answered by this process, by status.",
            "# TYPE prosa_gateway_requests_total counter",
        ]
        lines += [f'prosa_gateway_requests_total{{status="{s}"}} {n}' for s, n in sorted(self.status.items())]
        lines += [
            "# HELP prosa_gateway_cache_total Chat requests by cache outcome (this process).",
            "# TYPE prosa_gateway_cache_total counter",
        ]
        lines += [f'prosa_gateway_cache_total{{result="{k}"}} {v}' for k, v in self.cache.items()]
        for name, kind, value, help_ in (
            ("prosa_gateway_tokens_saved_total", "counter", self.tokens_saved, "Tokens served from the cache."),
            ("prosa_gateway_usd_saved_total", "counter", round(self.usd_saved, 6), "Dollars saved by hits."),
            ("prosa_gateway_streams_cancelled_total", "counter", self.streams_cancelled,
             "Answers abandoned because the client went away."),
            ("prosa_gateway_start_time_seconds", "gauge", round(self.started, 3), "When this process started."),
        ):  # fmt: skip
            lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name} {value}"]
        for name, hist, help_ in (
            ("prosa_gateway_upstream_first_chunk_seconds", self.first_chunk, "Upstream time to first chunk."),
            ("prosa_gateway_upstream_seconds", self.answer, "Upstream time to the whole answer."),
        ):
            lines += [f"# HELP {name} {help_} (misses)", f"# TYPE {name} histogram", *hist.lines(name)]
        lines += tenant_lines(tenants)
        if store is not None:
            for key in ("hits", "semantic_hits", "misses", "bypasses", "tokens_saved", "usd_saved", "errors",
                        "store_errors"):  # fmt: skip
                name = f"prosa_cache_{key}_total"
                lines += [f"# TYPE {name} counter", f"{name} {store.get(key, 0)}"]
            for key in ("entries", "bytes"):
                if isinstance(store.get(key), (int, float)):
                    lines += [f"# TYPE prosa_cache_{key} gauge", f"prosa_cache_{key} {store[key]}"]
        return "\n".join(lines) + "\n"


def tenant_lines(tenants: Sequence[Any]) -> list[str]:
    """Requests, cache outcomes, tokens and dollars saved, by tenant name (this process)."""
    if not tenants:
        return []
    lines = ["# HELP prosa_gateway_tenant_requests_total Requests past the access check, by tenant.",
             "# TYPE prosa_gateway_tenant_requests_total counter"]  # fmt: skip
    lines += [
        f'prosa_gateway_tenant_requests_total{{tenant="{t.name}"}} {t.counters.requests}' for t in tenants
    ]
    lines += ["# HELP prosa_gateway_tenant_cache_total Chat requests by tenant and cache outcome.",
              "# TYPE prosa_gateway_tenant_cache_total counter"]  # fmt: skip
    for t in tenants:
        c = t.counters
        for result, n in (("hit", c.hits), ("miss", c.misses), ("bypass", c.bypasses)):
            lines.append(f'prosa_gateway_tenant_cache_total{{tenant="{t.name}",result="{result}"}} {n}')
    for name, attr, help_ in (("tokens_saved", "tokens_saved", "Tokens served from the cache"),
                              ("usd_saved", "usd_saved", "Dollars saved by hits")):  # fmt: skip
        metric = f"prosa_gateway_tenant_{name}_total"
        lines += [f"# HELP {metric} {help_}, by tenant.", f"# TYPE {metric} counter"]
        lines += [f'{metric}{{tenant="{t.name}"}} {round(getattr(t.counters, attr), 6)}' for t in tenants]
    return lines


SERIES_KEYS = ("hits", "misses", "tokens_saved", "usd_saved")


class Series:
    """Samples of the cache counters over time, for the dashboard chart (a bounded ring)."""

    def __init__(self, points: int) -> None:
        self.samples: deque[dict[str, float]] = deque(maxlen=points)

    def add(self, stats: dict[str, Any]) -> dict[str, float]:
        sample = {"t": round(time.time(), 3), **{k: stats.get(k, 0) for k in SERIES_KEYS}}
        self.samples.append(sample)
        return sample

    def with_now(self, stats: dict[str, Any]) -> list[dict[str, float]]:
        now = {"t": round(time.time(), 3), **{k: stats.get(k, 0) for k in SERIES_KEYS}}
        return [*self.samples, now]
