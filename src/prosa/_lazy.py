"""Lazy package exports: each public name is imported from its submodule on first use.

Packages use it so that importing them (``prosa`` for ``prosa --version``, ``prosa.grounding``
on a plain request) costs nothing until a name is actually needed.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: importing typing costs ~10 ms of `prosa --version`.
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only
    from collections.abc import Callable, Iterable


def lazy_exports(
    package: str, where: dict[str, str], names: Iterable[str] | None = None
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__``: ``where`` maps each name to its submodule.

    ``names`` is what ``dir()`` lists (default: the names in ``where``).
    """
    listed = sorted(where if names is None else names)

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(f".{module}", package), name)

    def __dir__() -> list[str]:
        return listed

    return __getattr__, __dir__
