"""The pair model: MiniLM read as a cross-encoder that scores whether two questions ask the same.

The bi-encoder (``minilm.py``) embeds each question alone, so two questions that differ in one
decisive word ("hottest"/"coldest") land close together. Here both questions go through the
encoder at once, "[CLS] a [SEP] b [SEP]", so attention compares them word by word. The weights are
all-MiniLM-L6-v2's, frozen, plus what ``train/fit.py`` learnt on labelled pairs: low-rank updates
of every dense layer, the LayerNorms, the two token-type rows and a linear head on the mean of the
last layer's states. Those ship in ``pairs.npz`` (1.1 MB a member); the 90 MB base stays in its own
package. The score is the probability, the two questions read in a fixed order (sorted) so that it
is symmetric.
"""

from __future__ import annotations

import copy
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .minilm import MiniLM, Stopped, _Layer, pack, worker_pool

ADAPTERS = Path(__file__).with_name("pairs.npz")
_TARGETS = (("qkv_w", "qkv"), ("out_w", "out"), ("up_w", "up"), ("down_w", "down"))
MAX_PIECES = 64  # per question, as trained
# What ends a question says nothing of what it asks, but a model can learn it as a cue: trained on
# paraphrases that often differ in their closing "?" and near-misses that rarely do, the model scored
# "Which sharks are dangerous to humans?" / "which sharks are not dangerous to humans" 0.9996 (0.0002
# with the "?"). So neither training nor prosa shows it the closing punctuation.
_CLOSING = " \t\r\n?!.;:,\u2026\u061f\u3002\uff1f\uff01"


def pair_text(question: str) -> str:
    """The question as the pair model reads it: without its closing punctuation (see ``_CLOSING``)."""
    return question.rstrip(_CLOSING) or question


def question_key(question: str) -> str:
    """The question without what :func:`same_question` ignores: case, spacing, closing punctuation."""
    return " ".join(pair_text(question).casefold().split())


def same_question(a: str, b: str) -> bool:
    """Whether two questions differ only in case, spacing and closing punctuation."""
    return question_key(a) == question_key(b)


def _adapted(base: _Layer, t: dict[str, np.ndarray], i: int) -> _Layer:
    layer = copy.copy(base)
    for attr, name in _TARGETS:  # the low-rank update folded in once: the forward pass stays the base's
        # Trained for x @ (W + A @ B); the forward pass computes W @ x with W stored (out, in).
        setattr(layer, attr, getattr(base, attr) + (t[f"{i}.{name}.a"] @ t[f"{i}.{name}.b"]).T)
    for name in ("ln1_w", "ln1_b", "ln2_w", "ln2_b"):
        setattr(layer, name, t[f"{i}.{name}"].reshape(-1, 1))
    return layer


class PairModel:
    """``score(a, b)``: the probability in [0, 1] that one answer serves both questions.

    Thread-safe: the weights are only read, every call works on its own arrays.
    """

    def __init__(self, base: MiniLM, path: Path = ADAPTERS) -> None:
        with np.load(path) as f:
            t = {k: f[k] for k in f.files}
        self.meta: dict[str, Any] = json.loads(str(t.pop("meta"))) if "meta" in t else {}
        # One or more members ("0/token_type", "1/token_type", ...): an ensemble's score is their mean.
        # (fit.py's own output has no prefix: one member.)
        if not any("/" in k for k in t):
            t = {f"0/{k}": v for k, v in t.items()}
        names = sorted({k.split("/")[0] for k in t})
        self.members = [_Member(base, {k.split("/", 1)[1]: v for k, v in t.items() if k.startswith(f"{n}/")})
                        for n in names]  # fmt: skip
        self.encoder = base

    def score(self, a: str, b: str) -> float:
        return float(self.scores([(a, b)])[0])

    def rows(self, pairs: list[tuple[str, str]]) -> tuple[list[list[int]], list[int]]:
        """Each pair as the members read it, "[CLS] a [SEP] b [SEP]" with the two questions sorted
        (each without its closing punctuation: :func:`pair_text`), and how many ids its first question
        takes (token type 0)."""
        tok = self.encoder.tokenizer
        rows: list[list[int]] = []
        firsts: list[int] = []
        for a, b in pairs:
            a, b = pair_text(a), pair_text(b)
            x, y = tok.ids(min(a, b), MAX_PIECES), tok.ids(max(a, b), MAX_PIECES)
            rows.append(x + y[1:])
            firsts.append(len(x))
        return rows, firsts

    def scores(self, pairs: list[tuple[str, str]], bar: float | None = None) -> np.ndarray:
        """One probability per pair, each read in one order: the two questions sorted, so that
        ``score(a, b) == score(b, a)`` for half the cost of reading both orders (which measured no
        better on the validation sets).

        Two questions that differ only in case, spacing and closing punctuation (:func:`same_question`)
        are one question: 1.0, unread. The model learnt from pairs that differ, and scored "What is the
        capital of France?" against itself 0.29.

        The members read the pairs side by side, the first on this thread and the others on worker
        threads (numpy releases the GIL in its matmuls and ufuncs, so a second core halves the wait);
        a single member has each dense layer's rows split over both cores instead. With ``bar``, once
        the first member has ruled every pair out (their mean can no longer reach ``bar``), the others
        stop at their next layer and the scores returned are upper bounds below ``bar``: the verdicts
        are the same.
        """
        out = np.ones(len(pairs))
        unread = [i for i, (a, b) in enumerate(pairs) if not same_question(a, b)]
        if unread:
            out[unread] = self._read([pairs[i] for i in unread], bar)
        return out

    def _read(self, pairs: list[tuple[str, str]], bar: float | None) -> np.ndarray:
        rows, firsts = self.rows(pairs)
        n = len(self.members)
        stop = threading.Event()
        before = self.encoder._blas.limit()
        try:
            others = [
                worker_pool("pairs", n - 1).submit(m.probabilities, rows, firsts, stop)
                for m in self.members[1:]
            ]
            # One member alone: the worker computes half of each of its dense layers instead.
            pool = worker_pool("pairs") if n == 1 else None
            try:
                first = self.members[0].probabilities(rows, firsts, pool=pool)
            except BaseException:
                stop.set()  # nobody will read the others' scores
                raise
            bound = (first + (n - 1)) / n  # every member still reading says 1.0
            if bar is not None and bool((bound < bar).all()):
                stop.set()
            try:
                rest = [future.result() for future in others]
            except Stopped:
                return bound  # type: ignore[return-value]
        finally:
            self.encoder._blas.restore(before)
        return (first + sum(rest)) / n  # type: ignore[no-any-return]


class _Member:
    """One trained model: the base encoder with its adapters folded in, and its head."""

    def __init__(self, base: MiniLM, t: dict[str, np.ndarray]) -> None:
        encoder = copy.copy(base)  # shares the tokenizer and the mapped embeddings
        encoder.token_types = t["token_type"]
        encoder.ln_w, encoder.ln_b = t["ln_w"], t["ln_b"]
        encoder.layers = [_adapted(layer, t, i) for i, layer in enumerate(base.layers)]
        pack(encoder.layers)
        self.encoder = encoder
        self.head_w, self.head_b = t["head_w"], float(t["head_b"].reshape(-1)[0])

    def probabilities(
        self,
        rows: list[list[int]],
        firsts: list[int],
        stop: threading.Event | None = None,
        pool: ThreadPoolExecutor | None = None,
    ) -> np.ndarray:
        x, mask = self.encoder._hidden(rows, firsts, stop, pool)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return 1.0 / (1.0 + np.exp(-(pooled @ self.head_w + self.head_b)))  # type: ignore[no-any-return]
