"""Entry point: parse arguments, run one command, turn every prosa error into one line on stderr.

Only argparse is imported up front; each command imports what it needs when it runs, so
`prosa --version` and a cached `prosa ask` start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .. import __version__
from .parser import build_parser


def _setup_logging(debug: bool) -> None:
    import logging  # not at the top: `prosa --version` and `--help` never need it

    class _Formatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            # One prefix for everything prosa says on stderr; the level only when it is not a warning.
            level = "" if record.levelno == logging.WARNING else f"{record.levelname.lower()}: "
            text = f"prosa: {level}{record.getMessage()}"
            if record.exc_info and logging.getLogger("prosa").level <= logging.DEBUG:
                text += "\n" + self.formatException(record.exc_info)
            return text

    level_name = "DEBUG" if debug else os.environ.get("PROSA_LOG", "WARNING").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logger = logging.getLogger("prosa")
    logger.handlers[:] = [handler]
    logger.setLevel(getattr(logging, level_name, logging.WARNING))
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(__version__, _command_in(argv))
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get("PROSA_LOG", "").lower() == "debug"
    _setup_logging(debug)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `prosa ask ... | head -1`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - every failure becomes one line unless --debug
        return _report(e, debug)


def _report(error: Exception, debug: bool) -> int:
    from ..errors import ProsaError

    if debug:
        import traceback

        traceback.print_exc()
    if isinstance(error, ProsaError):
        print(f"prosa: {error}", file=sys.stderr)
        return error.exit_code
    print(
        f"prosa: unexpected {type(error).__name__}: {error} (run with --debug for details)", file=sys.stderr
    )
    return 1


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named on the command line, so only its options need building."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
