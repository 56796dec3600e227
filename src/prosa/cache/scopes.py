"""One scope's share of a cache, for tooling (`prosa cache stats|list|clear --namespace NAME`).

Keys are digests, so an entry's scope is read from the entry itself (``Entry.scope``); a scope
includes the namespaces inside it ("team-a" covers "team-a/eval-3"). This reads every entry once:
it is for the CLI and the operator, never for the request path.
"""

from __future__ import annotations

from typing import Any

from .cache import ResponseCache
from .controls import check_name, in_scope
from .entry import read_entry
from .stores.base import EntryInfo


def check_scope(namespace: str) -> str:
    """A scope as given on the command line: a name, or "tenant/namespace"."""
    for part in namespace.split("/", 1):
        check_name(part, "--namespace")
    return namespace


def infos_in(cache: ResponseCache, namespace: str, limit: int | None = None) -> list[EntryInfo]:
    """The live entries of a scope, newest first, at most ``limit``."""
    out: list[EntryInfo] = []
    for info in cache.store.scan(None):
        raw = cache.store.get(info.key)
        entry = None if raw is None else read_entry(raw)
        if entry is not None and in_scope(entry.scope, namespace):
            out.append(info)
            if limit is not None and len(out) >= limit:
                break
    return out


def scope_stats(cache: ResponseCache, namespace: str) -> dict[str, Any]:
    """A scope's entries, bytes and counters (hits, misses, tokens and money saved) in this store."""
    infos = infos_in(cache, namespace)
    return {"url": cache.url, "namespace": namespace, "entries": len(infos), "bytes": sum(i.size for i in infos),
            **cache.scope_counters(namespace)}  # fmt: skip


def clear_scope(cache: ResponseCache, namespace: str) -> int:
    """Delete a scope's entries (other scopes' are kept); return how many."""
    return sum(1 for info in infos_in(cache, namespace) if cache.store.delete(info.key))
