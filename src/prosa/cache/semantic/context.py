"""Words compared in their sentences: MiniLM's last-layer token states, memoised per question.

A word alone is ambiguous to an embedding ("tall"/"high", "symptoms"/"signs" score 0.6-0.8 as
words); in one sentence frame the rest of the question says which sense is meant, and the two
words' token states come close. Sister words stay apart even so ("dogs"/"cats" in "can dogs eat
chocolate": 0.66), so the verifier's bar separates them. Only content words are compared this way:
modals, auxiliaries, negations and question words are what the context is made of.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_MEMO = 1024  # questions whose token states are kept


class Contexts:
    """Token states per question for an embedder that has them (the bundled MiniLM)."""

    def __init__(self, embedder: Any, same_word: Callable[[str, str], bool]) -> None:
        model = getattr(embedder, "model", None)
        self.model = model if hasattr(model, "words_in_context") else None
        self.same_word = same_word  # how the verifier's stemmed word is found among the sentence's words
        self._memo: OrderedDict[str, list[tuple[str, np.ndarray]]] = OrderedDict()
        self._lock = threading.Lock()

    def best(self, text: str, word: str, other: str, candidates: set[str] | None) -> tuple[float, str] | None:
        """The closest word of ``other`` to ``word`` in ``text`` (among ``candidates``; None: any word),
        with its similarity; None when the embedder has no token states or a word is not found."""
        if self.model is None:
            return None
        mine = next((v for w, v in self._states(text) if self.same_word(w, word)), None)
        if mine is None:
            return None
        found = [
            (max(0.0, min(1.0, float(mine @ v))), w)
            for w, v in self._states(other)
            if w[:1].isalnum() and (candidates is None or any(self.same_word(w, c) for c in candidates))
        ]
        return max(found) if found else None

    def _states(self, text: str) -> list[tuple[str, np.ndarray]]:
        with self._lock:
            states = self._memo.get(text)
            if states is not None:
                self._memo.move_to_end(text)
                return states
        assert self.model is not None
        states = self.model.words_in_context(text)
        with self._lock:
            self._memo[text] = states
            while len(self._memo) > _MEMO:
                self._memo.popitem(last=False)
        return states
