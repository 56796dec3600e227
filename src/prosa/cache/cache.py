"""ResponseCache: the policy over a dumb store — keys, what may be cached, degradation and statistics."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..config import cost_usd
from ..errors import CacheError, ConfigError
from ..reply import Chunk
from ..request import ChatRequest
from .entry import Entry, read_entry
from .key import cache_key

if TYPE_CHECKING:
    from ..config import Settings
    from ..reply import Usage
    from .stores import Store

log = logging.getLogger("prosa.cache")

_MEMO_SIZE = 512
_WARN_EVERY = 60.0  # seconds between two warnings about the same store failure
_POLL_SECONDS = 0.02  # how often a waiting replica looks for the answer another one is writing
COUNTERS = ("hits", "semantic_hits", "misses", "bypasses", "tokens_saved", "usd_saved", "errors")


class _Saves(Protocol):
    """What a hit is counted by: an ``Entry``, or any other kind of decoded entry (LangChain's)."""

    @property
    def model(self) -> str: ...
    @property
    def usage(self) -> Usage: ...


class Hit:
    """A cached answer found for a request: its entry, the key it is stored under, and for a
    semantic hit (another question that means the same) the similarity of the two questions and
    the verifier's score (None when the verifier is off)."""

    __slots__ = ("entry", "key", "similarity", "score")

    def __init__(
        self, entry: Entry, key: str, similarity: float | None = None, score: float | None = None
    ) -> None:
        self.entry, self.key, self.similarity, self.score = entry, key, similarity, score

    @property
    def cached(self) -> bool | str:
        """What Reply.cached says of it: True, or "semantic"."""
        return True if self.similarity is None else "semantic"


class ResponseCache:
    """Decides keys and what may be cached, and keeps the store's failures from failing a request.

    Any store error (corrupt, locked, read-only, full disk) is logged once as a one-line warning and
    the request goes on with the cache bypassed.
    """

    def __init__(
        self,
        store: Store,
        *,
        nondeterministic: bool = True,
        prices: dict[str, tuple[float, float]] | None = None,
        decoded_entries: int = _MEMO_SIZE,
    ) -> None:
        self.store = store
        self.nondeterministic = nondeterministic
        self.prices = prices or {}
        self._warned: dict[str, float] = {}
        self._lock = threading.Lock()
        self.store_errors = 0  # requests that went on without the store (for /metrics)
        # key -> (raw bytes, decoded entry, its reader): a repeated hit on unchanged bytes skips
        # decoding. The store stays the truth (TTL, eviction, other processes): the memo serves only
        # the very bytes it decoded. decoded_entries=0 turns it off (each hit decoded anew).
        self._decoded: dict[str, tuple[bytes, Any, Callable[[bytes], Any]]] = {}
        self.decoded_entries = decoded_entries
        self._scope_names: dict[str, tuple[str, str, str]] = {}

    @property
    def url(self) -> str:
        return self.store.url

    def key(self, identity: str, request: ChatRequest) -> str:
        return cache_key(identity, request)

    def cacheable(self, request: ChatRequest) -> bool:
        """Every answer is cached unless nondeterministic caching is off and the request is nondeterministic."""
        return self.nondeterministic or request.deterministic

    def lookup(self, key: str, read: Callable[[bytes], Any] = read_entry) -> Any:
        """The entry under ``key`` as ``read`` decodes it (a chat ``Entry`` by default; another kind,
        e.g. LangChain's generations, with its own reader), or None: missing, malformed (then
        dropped) or the store failed (warned)."""
        try:
            raw = self.store.get(key)
        except CacheError as e:
            self.warn(e)
            return None
        entry = self.decode(key, raw, read)
        if entry is None and raw is not None:
            self._safely(self.store.delete, key)
        return entry

    def decode(self, key: str, raw: bytes | None, read: Callable[[bytes], Any] = read_entry) -> Any:
        """The entry in ``raw`` (None when missing or malformed: the caller drops a malformed one)."""
        if raw is None:
            return None
        memo = self._decoded.get(key)
        if memo is not None and memo[0] == raw and memo[2] is read:
            return memo[1]
        entry = read(raw)
        if entry is None:
            log.warning("cache entry %s is malformed; dropping it", key[:12])
            return None
        if self.decoded_entries:
            if len(self._decoded) >= self.decoded_entries:
                self._decoded.clear()  # cheap bound; hot entries come straight back
            self._decoded[key] = (raw, entry, read)
        return entry

    def lookup_entry(self, key: str) -> Entry | None:
        """Read an entry without counting it as a hit or a miss (for tooling)."""
        raw = self.store.get(key)
        return None if raw is None else read_entry(raw)

    def save(
        self,
        key: str,
        chunks: list[Chunk],
        model: str,
        provider: str,
        request: ChatRequest,
        ttl: float | None = None,
    ) -> None:
        """Store an answer under ``key``; ``ttl`` (seconds) overrides the store's default lifetime."""
        raw = self.encode(chunks, model, provider, request)
        if raw is not None:
            self.put(key, raw, ttl)

    def put(self, key: str, raw: bytes, ttl: float | None = None) -> None:
        """Store an entry's bytes (a store failure is warned, never raised)."""
        self._safely(self.store.put, key, raw, ttl or None)

    def encode(self, chunks: list[Chunk], model: str, provider: str, request: ChatRequest) -> bytes | None:
        """An answer's entry bytes, or None (warned) when it cannot be recorded."""
        try:
            return Entry.from_chunks(chunks, model, provider, request.question, request.scope).encode()
        except (TypeError, ValueError) as e:  # not JSON after all: answer without caching it
            self.warn(CacheError(f"an answer could not be recorded ({e})"))
            return None

    def count_hit(self, entry: _Saves, scope: str = "") -> None:
        """Count a hit and what it saved, in the totals and (when scoped) in the scope's own counters."""
        usage = entry.usage
        usd = cost_usd(self.prices, entry.model, usage)
        tokens = usage.total_tokens
        if scope:
            hits, saved, dollars = self._names(scope)
            deltas = {
                "hits": 1,
                "tokens_saved": tokens,
                "usd_saved": usd,
                hits: 1,
                saved: tokens,
                dollars: usd,
            }
        else:
            deltas = {"hits": 1, "tokens_saved": tokens, "usd_saved": usd}
        self._safely(self.store.incr, deltas)

    def count(self, name: str, scope: str = "") -> None:
        self._safely(self.store.incr, {name: 1, f"{name}@{scope}": 1} if scope else {name: 1})

    def _names(self, scope: str) -> tuple[str, str, str]:
        """A scope's hit counter names, made once per scope (a hit in a scope is the gateway's hot path)."""
        names = self._scope_names.get(scope)
        if names is None:
            names = (f"hits@{scope}", f"tokens_saved@{scope}", f"usd_saved@{scope}")
            if len(self._scope_names) >= 10_000:
                self._scope_names.clear()
            self._scope_names[scope] = names
        return names

    def scope_counters(self, scope: str) -> dict[str, Any]:
        """The counters of one scope and the namespaces inside it (``name@scope`` in the store)."""
        from .controls import in_scope

        self._safely(self.store.flush)
        out: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
        for name, value in (self._safely(self.store.counters) or {}).items():
            base, at, where = name.partition("@")
            if at and base in out and in_scope(where, scope):
                out[base] += value
        for name in COUNTERS:
            out[name] = round(out[name], 6) if name == "usd_saved" else int(out[name])
        looked = out["hits"] + out["misses"]
        out["hit_rate"] = round(out["hits"] / looked, 4) if looked else 0.0
        return out

    def stats(self) -> dict[str, Any]:
        self._safely(self.store.flush)
        counters = self._safely(self.store.counters) or {}
        info = self._safely(self.store.info) or {"url": self.store.url}
        out: dict[str, Any] = dict(info)
        for name in COUNTERS:
            value = counters.get(name, 0)
            out[name] = round(value, 6) if name == "usd_saved" else int(value)
        out["store_errors"] = self.store_errors  # this process's requests answered without the store
        looked = out["hits"] + out["misses"]
        out["hit_rate"] = round(out["hits"] / looked, 4) if looked else 0.0
        return out

    def close(self) -> None:
        self._safely(self.store.close)

    def _safely(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except CacheError as e:
            self.warn(e)
            return None

    def warn(self, error: CacheError) -> None:
        """Log a store failure at most once a minute per distinct message: the answer still goes through."""
        message = str(error)
        now = time.monotonic()
        with self._lock:
            self.store_errors += 1
            last = self._warned.get(message)
            if last is not None and now - last < _WARN_EVERY:
                return
            self._warned[message] = now
        log.warning(
            "%s", message if "without the cache" in message else f"{message} (answering without the cache)"
        )

    def coordinate(self, key: str, wait: float) -> tuple[Entry | None, Callable[[], None] | None]:
        """Cross-process single-flight over a store that can lock (Redis).

        Returns ``(entry, None)`` when another process answered this key meanwhile; ``(None, release)``
        when this process holds the lock and should ask the model (calling ``release`` after saving);
        ``(None, None)`` when no lock can be had (no lock support, store down, waited ``wait`` s).
        """
        store: Any = self.store
        if not getattr(store, "supports_locks", False):
            return None, None
        deadline = time.monotonic() + wait
        try:
            while True:
                token = store.lock(key, wait)
                if token is not None:
                    entry = self.lookup_entry(key)  # it may have landed between our miss and the lock
                    if entry is not None:
                        store.unlock(key, token)
                        return entry, None
                    return None, functools.partial(self._safely, store.unlock, key, token)
                while True:  # another process is answering: wait for its entry, or for its lock to go
                    if time.monotonic() > deadline:
                        return None, None
                    time.sleep(_POLL_SECONDS)
                    entry = self.lookup_entry(key)
                    if entry is not None:
                        return entry, None
                    if not store.locked(key):
                        break  # it failed or died: try to take over
        except CacheError as e:
            self.warn(e)
            return None, None


def open_store(spec: Any, settings: Settings | None = None) -> Store | None:
    """A store from a spec: a Store, "memory", "sqlite" (the default file), "sqlite:///path", a .db path,
    "redis://host:port/db" (or "rediss://", or "redis" for PROSA_REDIS_URL), or None / "off" for no cache."""
    if spec is None:
        return None
    from .stores import MemoryStore, SQLiteStore, Store

    if isinstance(spec, Store):
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        raise ConfigError(
            f"cache must be a store, 'memory', 'sqlite', a path or None (got {type(spec).__name__})"
        )
    text = os.fspath(spec).strip()
    ttl = settings.cache_ttl if settings else None
    size = settings.cache_max_size_mb if settings else None
    lowered = text.lower()
    if lowered in ("", "off", "none", "no", "false"):
        return None
    if lowered == "memory":
        return MemoryStore(ttl=ttl)
    if lowered == "sqlite":
        from ..config import default_cache_path

        return SQLiteStore(default_cache_path(), ttl=ttl, max_size_mb=size)
    if lowered.startswith("sqlite:///"):
        return SQLiteStore(_named_file(Path(text[len("sqlite:///") - 1 :])), ttl=ttl, max_size_mb=size)
    if lowered == "redis" or lowered.startswith(
        ("redis://", "rediss://", "redis+cluster://", "rediss+cluster://")
    ):
        from .stores.redis import RedisStore

        if lowered == "redis":  # the URL (and its password) from the environment, off the command line
            text = os.environ.get("PROSA_REDIS_URL", "redis://127.0.0.1:6379/0")
        return RedisStore(text, ttl=ttl)
    if "://" in text:
        raise ConfigError(
            f"unknown cache {text!r}: use memory, sqlite, sqlite:///path/to/file.db or a file path"
        )
    return SQLiteStore(_named_file(Path(text).expanduser()), ttl=ttl, max_size_mb=size)


def _named_file(path: Path) -> Path:
    """A cache file named by the user goes in a directory that exists: a typo must not create a tree.

    (The default file's directory, in the user cache dir, is still created when missing.) A CacheError,
    like any other cache fault: the question is still answered, with a warning.
    """
    if not path.parent.is_dir():
        raise CacheError(
            f"cache directory {path.parent} does not exist; create it first or choose another cache file"
        )
    return path


def open_cache(spec: Any, settings: Settings) -> ResponseCache | None:
    if isinstance(spec, ResponseCache):
        return spec
    try:
        store = open_store(spec, settings)
    except CacheError as e:
        log.warning("%s (answering without the cache)", e)
        return None
    if store is None:
        return None
    return ResponseCache(store, nondeterministic=settings.cache_nondeterministic, prices=settings.prices)
