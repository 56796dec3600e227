"""The argument parser. Commands are bound lazily: `args.run` imports its module only when called."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from .arguments import COMMANDS
from .usage import Parser


def _lazy(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(f"prosa.cli.{module}"), func)(args)  # type: ignore[no-any-return]

    return run


def build_parser(version: str, only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, the other commands get no options (building them all costs ~10 ms)."""
    parser = Parser(
        prog="prosa",
        description="Ask LLMs from the shell: the embedded local model offline, or any OpenAI-compatible "
        "server. Answers are cached, so a repeated question costs nothing.",
        epilog="Run `prosa COMMAND --help` for a command's options and examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.command = only  # type: ignore[attr-defined]  # for its usage errors' "see ... --help"
    parser.add_argument("--version", action="version", version=f"prosa {version}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, help, module, func, epilog, add_arguments in COMMANDS:
        p = sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        p.set_defaults(run=_lazy(module, func))
        if only in (None, name):
            add_arguments(p)
    return parser
