"""LoopGuard: notices when a small model has started repeating itself, so generation can end early.

Models of a few hundred million parameters often fall into a loop (the same line, or the same few
words, again and again) and would fill their whole context: minutes of CPU for an answer nobody
reads, which the cache would then keep. The guard watches the text as it is written and says when
its tail is a loop; the provider then ends the answer with ``finish_reason: "length"``, as if
``max_tokens`` had been reached (the answer is cut, not complete).

Two shapes are caught, both kept strict enough that ordinary answers never trip them:

- an exact period: the last ``MIN_SPAN`` or more characters are one block of text (with a letter or
  digit in it) repeated at least ``MIN_REPEATS`` times ("the the the ...", a sentence written three
  times in a row);
- a repeated line: the same line, ignoring its list marker and case, written ``MIN_REPEATS`` times
  among the last ``LINE_WINDOW`` lines ("1. Buy milk / 2. Buy milk / 3. Buy milk"). Rows that differ
  only in their numbers ("Item 1: 10 units / Item 2: 20 units") are data, not a loop.
"""

from __future__ import annotations

import re

MIN_REPEATS = 3  # a block or line seen this many times is a loop
MIN_SPAN = 60  # characters the repeated tail must cover: "ha ha ha" is an answer, 60 chars of it is not
MAX_PERIOD = 300  # longest repeated block looked for, in characters
MIN_LINE = 8  # shorter lines ("}", "---", "") repeat legitimately
LINE_WINDOW = 6

_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*+\u2022])\s*")
_SPACES = re.compile(r"\s+")


class LoopGuard:
    """Feed it each piece of text as it is generated; ``looping`` turns true once the text loops."""

    __slots__ = ("_text", "_partial", "_lines", "_checked", "looping")

    def __init__(self) -> None:
        self._text = ""
        self._partial = ""  # the line being written
        self._lines: list[str] = []  # normalised complete lines, the last LINE_WINDOW of them
        self._checked = 0  # length of text when the periodic check last ran
        self.looping = False

    def feed(self, piece: str) -> bool:
        """Add generated text; True when the answer is now looping."""
        if self.looping or not piece:
            return self.looping
        self._text += piece
        # Complete lines: each newline closes the line in progress.
        *done, self._partial = (self._partial + piece).split("\n")
        for line in done:
            self._add_line(line)
        # The periodic check costs O(MAX_PERIOD * span); once every ~16 characters is plenty.
        if len(self._text) - self._checked >= 16:
            self._checked = len(self._text)
            if _periodic_tail(self._text[-(MAX_PERIOD * MIN_REPEATS + MIN_SPAN) :]):
                self.looping = True
        # Keep only what the checks can look at.
        if len(self._text) > 4 * MAX_PERIOD * MIN_REPEATS:
            cut = len(self._text) - 2 * MAX_PERIOD * MIN_REPEATS
            self._text = self._text[cut:]
            self._checked -= cut
        return self.looping

    def _add_line(self, line: str) -> None:
        norm = _SPACES.sub(" ", _MARKER.sub("", line)).strip().lower()
        if len(norm) < MIN_LINE:
            return
        self._lines = [*self._lines[-(LINE_WINDOW - 1) :], norm]
        if self._lines.count(norm) >= MIN_REPEATS:
            self.looping = True


def _periodic_tail(text: str) -> bool:
    """True when the end of text is one block repeated MIN_REPEATS+ times over MIN_SPAN+ characters."""
    n = len(text)
    for period in range(1, min(MAX_PERIOD, n // MIN_REPEATS) + 1):
        # How far back from the end does text[i] == text[i - period] hold?
        span = period
        i = n - 1
        while i - period >= 0 and text[i] == text[i - period]:
            span += 1
            i -= 1
        # A rule of dashes or '=' is layout, not a loop: the block must hold a word.
        if span >= max(MIN_SPAN, MIN_REPEATS * period) and any(c.isalnum() for c in text[-period:]):
            return True
    return False
