"""`prosa gateway-key`: create the access keys of a shared gateway (kept as digests in a keys file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def gateway_key(args: argparse.Namespace) -> int:
    from ..server.tenants import append_key, read_keys_file

    path = Path(args.keys).expanduser()
    if args.action == "list":
        for _, tenant in read_keys_file(path):
            models = ",".join(tenant.models) if tenant.models is not None else "any"
            print(f"{tenant.name}\tnamespace={tenant.scope}\tmodels={models}\trpm={tenant.rpm or '-'}"
                  f"{chr(9) + 'admin' if tenant.admin else ''}")  # fmt: skip
        return 0
    key = append_key(path, args.name, args.namespace, args.model, args.rpm, args.admin)
    print(key)
    print(f"prosa: key {args.name!r} added to {path} (only its SHA-256 digest is stored: this is the one "
          "time it is shown); restart `prosa serve --keys` to use it", file=sys.stderr)  # fmt: skip
    return 0
