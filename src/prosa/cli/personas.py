"""`prosa personas add|list|show|remove`."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InvalidRequest


def personas(args: argparse.Namespace) -> int:
    from ..grounding.personas import (
        BUILTINS,
        Persona,
        get_persona,
        list_personas,
        remove_persona,
        save_persona,
    )

    if args.action == "list":
        found = list_personas()
        if args.json:
            print(json.dumps([p.to_dict() for p in found], ensure_ascii=False, indent=2))
            return 0
        width = max(len(p.name) for p in found)
        for p in found:
            where = (
                "built-in" if p.builtin else ("yours, overrides built-in" if p.name in BUILTINS else "yours")
            )
            defaults = _defaults(p)
            print(
                f"{p.name:<{width}}  {p.description or p.system[:60]}  ({where}{'; ' + defaults if defaults else ''})"
            )
        return 0
    if args.action == "show":
        p = get_persona(args.name)
        if args.json:
            print(json.dumps(p.to_dict(), ensure_ascii=False, indent=2))
            return 0
        print(f"name:        {p.name}{' (built-in)' if p.builtin else ''}")
        if p.description:
            print(f"description: {p.description}")
        for field in ("model", "temperature", "max_tokens"):
            if getattr(p, field) is not None:
                print(f"{field + ':':<13}{getattr(p, field)}")
        print(f"system:\n{p.system}")
        return 0
    if args.action == "remove":
        path = remove_persona(args.name)
        print(f"removed persona {args.name} ({path})", file=sys.stderr)
        return 0
    # add
    system = args.system
    if system is None or system == "-":
        if sys.stdin.isatty():
            print("(type the system prompt; end with Ctrl-D)", file=sys.stderr)
        system = sys.stdin.read()
    system = system.strip()
    if not system:
        raise InvalidRequest("a persona needs a system prompt: --system TEXT (or on stdin)")
    persona = Persona(args.name, system, args.description, args.model, args.temperature, args.max_tokens)
    existed = get_existing(args.name)
    path = save_persona(persona)
    print(f"{'replaced' if existed else 'added'} persona {args.name} ({path})", file=sys.stderr)
    return 0


def get_existing(name: str) -> bool:
    from ..grounding.personas import persona_path

    return persona_path(name).is_file()


def _defaults(p: object) -> str:
    parts = []
    for field, short in (("model", "model"), ("temperature", "t"), ("max_tokens", "max tokens")):
        value = getattr(p, field)
        if value is not None:
            parts.append(f"{short} {value}")
    return ", ".join(parts)
