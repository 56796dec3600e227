"""The gateway's upstream side: its clients (one per caller's key with --forward-key), which of those
keys the upstream has accepted, and the upstream's model list."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import time
from collections import OrderedDict

from ..cache.cache import ResponseCache
from ..client import AsyncClient
from ..config import Settings
from .config import GatewayConfig

log = logging.getLogger("prosa.server")

MAX_CLIENTS = 64  # per-caller clients kept with --forward-key (least recently used go first)


class Upstream:
    """The clients of one worker process, all sharing its cache."""

    def __init__(self, settings: Settings, cache: ResponseCache | None, config: GatewayConfig) -> None:
        self.settings = settings
        self.cache = cache
        self.forward_key = forward_key = config.forward_key
        # With --forward-key the gateway's own upstream key is never used: callers bring theirs.
        base = _with_key(settings, None) if forward_key else settings
        self.client = AsyncClient(cache=cache, settings=base)
        self._clients: OrderedDict[str, AsyncClient] = OrderedDict()
        self.present = config.has_upstream(settings)
        # With --forward-key, the callers' keys the upstream has accepted: only they may read the cache.
        self._verified: set[str] = set()
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

    def unverified(self, tag: str, local: bool) -> bool:
        """Whether this caller's key is one the upstream never accepted (only with --forward-key).

        Such a caller must not read answers others paid for; the local model needs no key."""
        return self.forward_key and not local and tag not in self._verified

    def verify(self, tag: str) -> None:
        """The upstream answered this caller's key: from now on it may read the cache."""
        if len(self._verified) >= 100_000:  # bounded: forgetting only costs one more upstream call each
            self._verified.clear()
        self._verified.add(tag)

    async def models(self, bearer: str | None) -> list[str]:
        """'local' plus the upstream's models (cached a minute); an upstream failure leaves 'local'."""
        tag, client = self.client_for(bearer)
        cached = self._models.get(tag)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        names, ttl = ["local"], 60.0
        if self.present:
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
        if self.present:
            try:
                import openai  # noqa: F401
            except ImportError:  # reported on the first request that needs it
                pass


def _with_key(settings: Settings, key: str | None) -> Settings:
    """A copy of the settings with another upstream key (the caller's, with --forward-key)."""
    out = copy.copy(settings)
    out.openai_api_key = key
    return out
