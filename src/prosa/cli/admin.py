"""`prosa models`, `prosa keys` and `prosa config`."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InvalidRequest

KNOWN_KEYS = ("openai",)


def models(args: argparse.Namespace) -> int:
    from ..client import Client
    from ..config import load_settings

    client = Client(cache=None, settings=load_settings(openai_base_url=args.base_url))
    names = client.list_models()
    if args.json:
        print(json.dumps(names))
    else:
        print("\n".join(names))
    return 0


def mask(secret: str) -> str:
    return f"{secret[:3]}...{secret[-4:]}" if len(secret) > 12 else "***"


def keys(args: argparse.Namespace) -> int:
    from ..config import keys_path, read_keys, write_keys

    if args.action == "path":
        print(keys_path())
        return 0
    if args.name not in KNOWN_KEYS:
        raise InvalidRequest(f"unknown key name {args.name!r}; known: {', '.join(KNOWN_KEYS)}")
    stored = read_keys()
    if args.action == "get":
        if args.name not in stored:
            print(f"no {args.name} key stored (set one with: prosa keys set {args.name})", file=sys.stderr)
            return 1
        print(mask(stored[args.name]))
        return 0
    if args.action == "remove":
        if stored.pop(args.name, None) is None:
            print(f"no {args.name} key stored", file=sys.stderr)
            return 1
        write_keys(stored)
        print(f"removed the {args.name} key", file=sys.stderr)
        return 0
    # set: never from an argument, which would land in shell history and `ps`
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"{args.name} API key: ")
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        raise InvalidRequest("no key given: type it at the prompt or pipe it on stdin")
    stored[args.name] = value
    path = write_keys(stored)
    print(f"saved the {args.name} key to {path} (readable only by you)", file=sys.stderr)
    return 0


def config(args: argparse.Namespace) -> int:
    from ..config import cache_dir, config_path, default_cache_path, keys_path, load_settings

    if args.action == "path":
        print(config_path())
        return 0
    settings = load_settings()
    shown = settings.as_dict()
    shown["openai_api_key"] = mask(settings.openai_api_key) if settings.openai_api_key else None
    shown["prices"] = {k: {"input": v[0], "output": v[1]} for k, v in settings.prices.items()}
    shown["paths"] = {
        "config": str(config_path()),
        "keys": str(keys_path()),
        "cache_dir": str(cache_dir()),
        "default_cache": str(default_cache_path()),
    }
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    for name, value in shown.items():
        if isinstance(value, dict):
            print(f"{name}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{name}: {value}")
    return 0
