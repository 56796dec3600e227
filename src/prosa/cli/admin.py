"""`prosa models`, `prosa keys` and `prosa config`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import InvalidRequest

KNOWN_KEYS = ("openai",)


def models(args: argparse.Namespace) -> int:
    from ..client import Client
    from ..config import load_settings
    from ..errors import AuthError, UpstreamError

    client = Client(cache=None, settings=load_settings(openai_base_url=args.base_url))
    try:
        names = client.list_models()
    except (UpstreamError, AuthError) as e:
        # The embedded model works without the server: list it, and say why the others are missing.
        print(f"prosa: {e}; listing only the local model", file=sys.stderr)
        names = ["local"]
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
    rows = _effective(settings)
    paths = {
        "config": str(config_path()),
        "keys": str(keys_path()),
        "cache_dir": str(cache_dir()),
        "default_cache": str(default_cache_path()),
    }
    prices = {k: {"input": v[0], "output": v[1]} for k, v in settings.prices.items()}
    if args.json:
        shown = {name: {"value": value, "source": source} for name, value, source in rows}
        print(json.dumps({"settings": shown, "prices": prices, "paths": paths}, indent=2))
        return 0
    width = max(len(name) for name, _, _ in rows)
    vwidth = min(max(len(_text(value)) for _, value, _ in rows), 48)
    for name, value, source in rows:
        print(f"{name:<{width}}  {_text(value):<{vwidth}}  {source}")
    print("prices (USD per 1M tokens, input/output):")
    for model, price in prices.items():
        print(f"  {model}: {price['input']:g} / {price['output']:g}")
    print("paths:")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0


def _effective(settings: Any) -> list[tuple[str, Any, str]]:
    """(setting, value in force, where it comes from): the defaults resolved, as the CLI would use them."""
    from ..config import FIELDS, default_cache_path
    from ..providers.local import bundled_model_path

    key = settings.openai_api_key
    bundled = bundled_model_path()
    # The defaults that depend on other settings or on the machine: (value shown, why).
    resolved = {
        "default_model": (settings.model_for(), "an OpenAI key is set" if key else "no OpenAI key"),
        "local_model_path": (str(bundled) if bundled else "none (not installed)", "the bundled SmolLM2-135M"),
        "cache": (f"sqlite ({default_cache_path()})", "the command line's; the library: none"),
    }  # fmt: skip
    rows = []
    for field in FIELDS:
        value = getattr(settings, field.name)
        if field.name == "openai_api_key" and value:
            value = mask(value)
        default, why = resolved.get(field.name, (field.shown, ""))
        source = settings.source(field.name)
        if source == "default" and why:
            source = f"default ({why})"
        rows.append((field.name, value if value is not None else default, source))
    return rows


def _text(value: Any) -> str:
    """A value as a person writes it in the config file: true/false, numbers without noise, plain text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
