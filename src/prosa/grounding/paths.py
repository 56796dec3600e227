"""Where grounding keeps its files: knowledge bases in the user data dir, personas in the config dir."""

from __future__ import annotations

import re
from pathlib import Path

from ..config import config_dir, user_dir
from ..errors import InvalidRequest

# Names become file names, so they are kept to a safe, portable alphabet.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def data_dir() -> Path:
    """The user data dir: ``PROSA_DATA_DIR``, else ``$XDG_DATA_HOME/prosa`` (``~/.local/share/prosa``)."""
    return user_dir("data", "PROSA_DATA_DIR", "XDG_DATA_HOME", "~/.local/share")


def kb_dir() -> Path:
    return data_dir() / "kb"


def personas_dir() -> Path:
    return config_dir() / "personas"


def check_name(name: str, what: str) -> str:
    """A persona or knowledge-base name, validated (it becomes a file name)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or name.endswith("."):
        raise InvalidRequest(
            f"{what} name {name!r} is not valid: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (at most 64 characters)",
            what,
        )
    return name
