"""Record: a tiny base for slotted value classes.

prosa's hot-path types are plain slotted classes rather than dataclasses because importing
``dataclasses`` pulls in ``inspect``, ``dis`` and ``ast``, which nothing else on the start path
needs: about 3.5 ms on top of what a cached `prosa ask` imports anyway (11 ms from a bare
interpreter; ``python -X importtime``, Python 3.11, best of 20 on a busy 2-core machine).
Subclasses list their public fields in ``__slots__`` and write their own ``__init__``; this base
gives them ``repr`` and ``==`` over those fields.
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
