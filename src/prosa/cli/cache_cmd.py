"""`prosa cache ...`: stats, list, show, clear, prune, export and import over any store."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any

from ..errors import CacheError, InvalidRequest

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> float:
    """'30m', '12h', '7d', '2w', '45s' -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not match:
        raise InvalidRequest(f"--older-than must look like 30m, 12h, 7d or 2w (got {text!r})", "older_than")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _open(args: argparse.Namespace) -> Any:
    from ..cache.cache import ResponseCache, open_store
    from ..config import load_settings

    settings = load_settings()
    store = open_store(settings.cli_cache(args.cache), settings)
    if store is None:
        raise InvalidRequest("the cache is off; choose one with --cache memory|sqlite|PATH")
    return ResponseCache(store, prices=settings.prices)


def cache(args: argparse.Namespace) -> int:
    try:
        rc = _ACTIONS[args.action](_open(args), args)
    except CacheError as e:
        # Here the cache is the whole job, so a store failure is an error, not a warning.
        print(f"prosa: {e}", file=sys.stderr)
        return 1
    return rc


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _age(seconds: float) -> str:
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _namespace(args: argparse.Namespace) -> str | None:
    from ..cache.scopes import check_scope

    namespace = getattr(args, "namespace", None)
    return None if namespace is None else check_scope(namespace)


def stats(cache: Any, args: argparse.Namespace) -> int:
    from ..cache.scopes import scope_stats

    namespace = _namespace(args)
    s = cache.stats() if namespace is None else scope_stats(cache, namespace)
    if args.json:
        print(json.dumps(s))
        return 0
    rows = [
        ("store", s.get("url", "") + (f" (namespace {namespace})" if namespace else "")),
        ("entries", f"{s.get('entries', 0):,}"),
        ("size", _size(s.get("bytes", 0))),
        (
            "hits",
            f"{s['hits']:,}" + (f" ({s['semantic_hits']:,} semantic)" if s.get("semantic_hits") else ""),
        ),
        ("misses", f"{s['misses']:,}"),
        ("hit rate", f"{s['hit_rate'] * 100:.1f}%"),
        ("bypasses", f"{s['bypasses']:,}"),
        ("tokens saved", f"{s['tokens_saved']:,}"),
        ("money saved", f"${s['usd_saved']:.4f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


def _describe(cache: Any, key: str) -> Any:
    """Read an entry of any kind for display only (see ``cache.formats``): plain data, never code."""
    from ..cache.formats import describe

    raw = cache.store.get(key)
    return None if raw is None else describe(raw)


def _entries(cache: Any, limit: int | None, namespace: str | None = None) -> list[tuple[Any, Any]]:
    """(info, entry) pairs, newest first (of one namespace when given); unreadable entries are skipped."""
    from ..cache.scopes import infos_in

    out = []
    for info in cache.store.scan(limit) if namespace is None else infos_in(cache, namespace, limit):
        entry = _describe(cache, info.key)
        if entry is not None:
            out.append((info, entry))
    return out


def list_(cache: Any, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise InvalidRequest(f"--limit must be >= 1 (got {args.limit})", "limit")
    rows = _entries(cache, args.limit, _namespace(args))
    now = time.time()
    if args.json:
        for info, entry in rows:
            print(json.dumps(_summary(info, entry)))
        return 0
    if not rows:
        print("(the cache is empty)", file=sys.stderr)
        return 0
    for info, entry in rows:
        question = " ".join(entry.question.split())
        if len(question) > 60:
            question = question[:57] + "..."
        print(f"{info.key[:12]}  {_age(now - info.created):>4} ago  {entry.model[:28]:<28}  {question}")
    return 0


def _summary(info: Any, entry: Any) -> dict[str, Any]:
    return {
        "key": info.key,
        "kind": entry.kind,
        "created": info.created,
        "accessed": info.accessed,
        "size": info.size,
        "model": entry.model,
        "provider": entry.provider,
        "question": entry.question,
        "chunks": len(entry.texts),
        "usage": entry.usage.to_dict(),
    }


def show(cache: Any, args: argparse.Namespace) -> int:
    prefix = args.key.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{4,64}", prefix):
        raise InvalidRequest(
            f"a key is 4 to 64 hex characters (got {args.key!r}); see `prosa cache list`", "key"
        )
    matches = [info for info in cache.store.scan(None) if info.key.startswith(prefix)]
    if not matches:
        print(f"prosa: no cache entry with a key starting {prefix}", file=sys.stderr)
        return 1
    if len(matches) > 1:
        print(f"prosa: {len(matches)} entries start with {prefix}; give more of the key", file=sys.stderr)
        return 2
    info = matches[0]
    entry = _describe(cache, info.key)
    if entry is None:
        print(f"prosa: entry {info.key[:12]} could not be read", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**_summary(info, entry), "text": entry.text, "finish_reason": entry.finish_reason}))
        return 0
    s = _summary(info, entry)
    for name in ("key", "kind", "model", "provider", "chunks"):
        print(f"{name}: {s[name]}")
    print(f"created: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(info.created))}")
    print(f"usage: {entry.usage.prompt_tokens} prompt + {entry.usage.completion_tokens} completion tokens")
    print(f"finish_reason: {entry.finish_reason}")
    print(f"question: {entry.question}")
    print("answer:")
    print(entry.text)
    return 0


def clear(cache: Any, args: argparse.Namespace) -> int:
    from ..cache.scopes import clear_scope

    namespace = _namespace(args)
    n = cache.store.clear() if namespace is None else clear_scope(cache, namespace)
    where = cache.url + (f" (namespace {namespace})" if namespace else "")
    print(f"deleted {n} entr{'y' if n == 1 else 'ies'} from {where}", file=sys.stderr)
    return 0


def prune(cache: Any, args: argparse.Namespace) -> int:
    age = parse_age(args.older_than)
    n = cache.store.prune(time.time() - age)
    print(
        f"deleted {n} entr{'y' if n == 1 else 'ies'} older than {args.older_than} (or expired)",
        file=sys.stderr,
    )
    return 0


def export(cache: Any, args: argparse.Namespace) -> int:
    from ..cache.formats import export_line

    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    count = skipped = 0
    try:
        for info in cache.store.scan(None):
            raw = cache.store.get(info.key)
            line = None if raw is None else export_line(info.key, info.created, raw)
            if line is None:
                skipped += raw is not None  # an entry of no known kind: nothing could import it
                continue
            out.write(line + "\n")
            count += 1
    finally:
        if args.output:
            out.close()
    unread = f" ({skipped} unreadable skipped)" if skipped else ""
    print(f"exported {count} entr{'y' if count == 1 else 'ies'}{unread}", file=sys.stderr)
    return 0


def import_(cache: Any, args: argparse.Namespace) -> int:
    from ..cache.formats import read_line

    source = sys.stdin if args.file == "-" else _open_file(args.file)
    count = 0
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            key, raw, created = read_line(line)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            raise InvalidRequest(f"{args.file}:{number}: not a prosa cache export line") from None
        cache.store.put(key, raw, created=created)
        count += 1
    cache.store.flush()
    print(f"imported {count} entr{'y' if count == 1 else 'ies'} into {cache.url}", file=sys.stderr)
    return 0


def _open_file(path: str) -> Any:
    try:
        return open(path, encoding="utf-8")
    except OSError as e:
        raise InvalidRequest(f"cannot read {path}: {e.strerror}") from None


_ACTIONS = {
    "stats": stats,
    "list": list_,
    "show": show,
    "clear": clear,
    "prune": prune,
    "export": export,
    "import": import_,
}
