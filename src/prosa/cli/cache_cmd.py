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


class _Described:
    """What the listing shows of an entry, whether prosa's own or one written by prosa.langchain."""

    def __init__(
        self, model: str, provider: str, question: str, texts: list[str], usage: Any, finish: str
    ) -> None:
        self.model, self.provider, self.question, self.texts = model, provider, question, texts
        self.usage, self.finish_reason = usage, finish

    @property
    def text(self) -> str:
        return "".join(self.texts)


def _describe(cache: Any, key: str) -> _Described | None:
    """Read an entry for display only: plain JSON, never an object named by the data."""
    from ..cache.entry import read_entry
    from ..reply import Usage

    raw = cache.store.get(key)  # read once: a prosa entry, or a LangChain one
    if raw is None:
        return None
    entry = read_entry(raw)
    if entry is not None:
        return _Described(
            entry.model, entry.provider, entry.question, entry.texts, entry.usage, entry.finish_reason
        )
    if raw.startswith(b"prosa-embedding-"):  # an embedding: its note names the model and the input
        from ..embeddings.service import read_note

        note = read_note(raw)
        if not note:
            return None
        text = f"[embedding: {note['d']} dimensions]"
        return _Described(
            str(note.get("m", "")), "embedding", str(note.get("q", "")), [text], Usage(int(note["t"]), 0), ""
        )
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != "lc1":
            return None
        texts = [str(g.get("text", "")) for g in data.get("g", []) if isinstance(g, dict)]
        u = data.get("u") or (0, 0)
        return _Described(
            str(data.get("model", "")),
            "langchain",
            str(data.get("q", "")),
            texts,
            Usage(int(u[0]), int(u[1])),
            "",
        )
    except (ValueError, TypeError, IndexError, AttributeError):
        return None


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
    for name in ("key", "model", "provider", "chunks"):
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
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    count = 0
    try:
        for info in cache.store.scan(None):
            raw = cache.store.get(info.key)
            if raw is None:
                continue
            out.write(json.dumps({"key": info.key, "created": info.created, "entry": json.loads(raw)}) + "\n")
            count += 1
    finally:
        if args.output:
            out.close()
    print(f"exported {count} entr{'y' if count == 1 else 'ies'}", file=sys.stderr)
    return 0


def import_(cache: Any, args: argparse.Namespace) -> int:
    from ..cache.entry import Entry

    source = sys.stdin if args.file == "-" else _open_file(args.file)
    count = 0
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = record["key"]
            raw = json.dumps(record["entry"], ensure_ascii=False, separators=(",", ":")).encode()
            if record["entry"].get("v") != "lc1":  # LangChain entries are plain JSON, checked when read
                Entry.decode(raw)  # only well-formed prosa entries go in
            if not re.fullmatch(r"[0-9a-f]{64}", key):
                raise ValueError("bad key")
            created = record.get("created")
            if created is not None and (isinstance(created, bool) or not isinstance(created, (int, float))):
                raise ValueError("bad created time")
        except (ValueError, KeyError, TypeError, IndexError):
            raise InvalidRequest(f"{args.file}:{number}: not a prosa cache export line") from None
        # The entry keeps its age, so `prune --older-than` treats it as the original would be treated.
        cache.store.put(key, raw, created=min(float(created), time.time()) if created is not None else None)
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
