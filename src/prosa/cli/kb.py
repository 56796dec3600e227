"""`prosa kb add|list|files|remove|search`: knowledge bases, with a progress bar on a terminal."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


class ProgressBar:
    """One line on stderr, redrawn at most ten times a second; nothing at all when stderr is not a terminal."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.start = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, label: str, done: int, total: int, pieces: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        name = label if len(label) <= 32 else "…" + label[-31:]
        if total:
            share = min(done / total, 1.0)
            bar = "#" * int(share * 24)
            line = f"{name:<32} [{bar:<24}] {share:4.0%}  {pieces:,} pieces"
        else:
            line = f"{name:<32} {pieces:,} pieces"
        self.stream.write("\r" + line[:110].ljust(110))
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * 110 + "\r")
            self.stream.flush()


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def kb(args: argparse.Namespace) -> int:
    from ..grounding.kb import KnowledgeBase, list_knowledge_bases

    if args.action == "list":
        infos = [k.info() for k in list_knowledge_bases()]
        if args.json:
            print(json.dumps(infos, indent=2))
        elif not infos:
            print("no knowledge bases (create one with: prosa kb add NAME PATH...)", file=sys.stderr)
        for i in infos if not args.json else []:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(i["updated"])) if i["updated"] else "-"
            print(
                f"{i['name']}  {i['files']} files, {i['pieces']:,} pieces, {_size(i['bytes'])}, updated {when}"
            )
        return 0
    base = KnowledgeBase(args.name)
    try:
        if args.action == "add":
            return _add(base, args)
        if args.action == "remove":
            base.remove()
            print(f"removed knowledge base {args.name}", file=sys.stderr)
            return 0
        if args.action == "files":
            files = base.files()
            if args.json:
                print(json.dumps(files, indent=2))
            for f in files if not args.json else []:
                print(f"{f['label']}  {f['pieces']:,} pieces, {_size(f['bytes'])}  ({f['path']})")
            return 0
        # search
        hits = base.search(" ".join(args.query), args.limit)
        if args.json:
            rows = [
                {"label": h.piece.label, "group": h.piece.group, "score": h.score, "text": h.piece.text}
                for h in hits
            ]
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        if not hits:
            print("no matching pieces", file=sys.stderr)
        for h in hits:
            print(f"[{h.piece.label}] ({-h.score:.2f}) {h.piece.text}")
        return 0
    finally:
        base.close()


def _add(base: Any, args: argparse.Namespace) -> int:
    bar = ProgressBar()
    start = time.perf_counter()
    try:
        result = base.add(args.paths, progress=bar, tables=args.table or (), sql=args.sql or ())
    finally:
        bar.close()
    took = time.perf_counter() - start
    parts = [
        f"{len(result.added)} added",
        f"{len(result.replaced)} replaced",
        f"{len(result.unchanged)} unchanged",
    ]
    rate = f", {result.bytes / took / 1e6:.1f} MB/s" if result.bytes and took > 0 else ""
    print(f"{base.name}: {', '.join(parts)} ({result.pieces:,} pieces in {took:.1f} s{rate})")
    return 0
