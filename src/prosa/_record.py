"""Record: a tiny base for slotted value classes.

prosa's hot-path types are plain slotted classes rather than dataclasses because importing
``dataclasses`` pulls in ``inspect`` and ``ast`` — about 20 ms on every start of the CLI, a fifth
of the time budget of a cached `prosa ask`. Subclasses list their public fields in ``__slots__``
and write their own ``__init__``; this base gives them ``repr`` and ``==`` over those fields.
"""

from __future__ import annotations

from typing import Any


class Record:
    __slots__ = ()

    def _fields(self) -> tuple[str, ...]:
        return tuple(n for cls in type(self).__mro__ for n in getattr(cls, "__slots__", ()) if n[0] != "_")

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields())
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields())

    __hash__ = None  # type: ignore[assignment]  # mutable records are not hashable

    def as_dict(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self._fields()}
