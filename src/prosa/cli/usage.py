"""Short usage errors for the CLI: one line saying what is wrong, with a suggestion, and where to look."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # not `from typing import ...`: typing costs milliseconds of `prosa --version`
if TYPE_CHECKING:
    from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse with short usage errors: one line saying what is wrong, a suggestion, where to look.

    argparse's own error prints the whole usage block (9 lines for `ask`) and has no "did you mean".
    """

    def error(self, message: str) -> NoReturn:
        import difflib
        import sys

        hint = ""
        if message.startswith("unrecognized arguments: "):
            unknown = [a.split("=", 1)[0] for a in message.split(": ", 1)[1].split() if a.startswith("-")]
            for arg in unknown:
                close = difflib.get_close_matches(arg, _option_strings(self), n=1, cutoff=0.6)
                if close:
                    hint = f"; did you mean {close[0]}?"
                    break
        elif "invalid choice: " in message:
            choice = message.split("invalid choice: ", 1)[1].split(" (", 1)[0].strip("'")
            close = difflib.get_close_matches(choice, _choices(self), n=1, cutoff=0.6)
            if close:
                hint = f"; did you mean {close[0]}?"
        # Unknown options surface at the top level; the command they were given to has the help to read.
        command = getattr(self, "command", None)
        known = command in _choices(self) and not message.startswith("argument COMMAND")
        where = f"prosa {command}" if self.prog == "prosa" and known else self.prog
        print(f"prosa: {message}{hint}", file=sys.stderr)
        print(f"(see `{where} --help`)", file=sys.stderr)
        self.exit(2)


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += [sub, *_subparsers(sub)]
    return found


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every --option of this parser and the commands under it (a misspelt flag may belong to either)."""
    names = {s for p in (parser, *_subparsers(parser)) for a in p._actions for s in a.option_strings}
    return sorted(n for n in names if n.startswith("--"))


def _choices(parser: argparse.ArgumentParser) -> list[str]:
    names: set[str] = set()
    for p in (parser, *_subparsers(parser)):
        for action in p._actions:
            if action.choices is not None:
                names.update(str(c) for c in action.choices)
    return sorted(names)
