"""`prosa embed`: texts in, vectors out, one JSON array per line (or one JSON object with --json)."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InvalidRequest
from .ask import make_client


def embed(args: argparse.Namespace) -> int:
    texts = [t for t in args.texts if t != "-"]
    if not texts or "-" in args.texts:
        if sys.stdin.isatty() and not texts:
            print("(reading one text per line from stdin; end with Ctrl-D)", file=sys.stderr)
        texts += [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise InvalidRequest(
            "no text given: pass texts as arguments or one per line on stdin (prosa embed --help)"
        )
    client = make_client(args)
    try:
        params = {"dimensions": args.dimensions} if args.dimensions is not None else {}
        result = client.embed(texts, model=args.model, refresh=args.refresh, **params)
    finally:
        client.close()
    if args.json:
        data = [{"index": i, "embedding": v} for i, v in enumerate(result.vectors)]
        usage = {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens}
        print(json.dumps({"data": data, "model": result.model, "usage": usage, "cached": result.cached}))
    else:
        out = sys.stdout
        for vector in result.vectors:
            out.write(json.dumps(vector) + "\n")
    return 0
