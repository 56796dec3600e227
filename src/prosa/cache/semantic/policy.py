"""SemanticPolicy (what a semantic hit may be) and the fingerprint that scopes it. Imports no numpy."""

from __future__ import annotations

import hashlib
from typing import Any

from ..._record import Record
from ...errors import InvalidRequest
from ...request import ChatRequest

# Chosen on tests/data/semantic_pairs.tsv with the guards on: the lowest threshold with precision
# 1.0 there plus a margin (bench/semantic.py prints the table). Calibrated for the MiniLM embedder.
# It is the threshold of the guards alone (``verify=False``).
DEFAULT_THRESHOLD = 0.86
# With the verifier on (the default), the least similarity of a candidate the pair model judges: a
# wide net, since the pair model, not the similarity, tells paraphrases from near-misses. The highest
# of 0.5, 0.55, 0.6 and 0.65 that 98% of the labelled paraphrases outside the test sets reach (6,534:
# v1-v5, development, training); 0.65 kept 99% of v1-v5's but only 93% of the training writers'.
VERIFIED_THRESHOLD = 0.55


class SemanticPolicy(Record):
    """When a question may be answered by the cached answer to another that means the same.

    - ``threshold``: the least cosine similarity (0-1] between the two questions. The default
      (None) is :data:`VERIFIED_THRESHOLD` with the verifier on, :data:`DEFAULT_THRESHOLD`
      with it off (both 0.86 for now); both suit the bundled MiniLM model: recalibrate for another embedder.
    - ``embedder``: "minilm" (bundled, offline), "openai" / "openai:MODEL" (the configured
      OpenAI-compatible server's /embeddings), or any object with ``name``, ``embed`` and
      ``count_tokens`` (see :class:`prosa.cache.semantic.embed.Embedder`).
    - ``guards``: veto hits whose questions differ in numbers, names, negation, comparison words,
      units, register or language (word lists). The default (None) is on when the verifier is off
      and off when it is on: on the validation sets, at strict, they would have stopped no near-miss
      the pair model let through and refused 220 paraphrases it verified. True adds them in front.
      The verifier keeps one check of its own either way: numbers written in digits that differ.
    - ``max_question_tokens``: longer questions are never matched semantically (an embedding of a
      long text blurs the details that make two texts different).
    - ``candidates``: how many of the closest stored questions are judged, best first.
    - ``verify``: a second opinion on every candidate: the pair model, MiniLM reading both
      questions at once, gives the probability that one answer serves both (see
      :mod:`prosa.cache.semantic.verify`). Needs the bundled MiniLM weights whatever the embedder.
    - ``strictness``: the probability a hit needs: "strict" (default), "balanced", "lenient", or
      a number in [0, 1]. The README lists each setting's measured precision and recall.
    """

    __slots__ = (
        "threshold",
        "embedder",
        "guards",
        "max_question_tokens",
        "candidates",
        "verify",
        "strictness",
    )

    def __init__(
        self,
        threshold: float | None = None,
        *,
        embedder: Any = "minilm",
        guards: bool | None = None,
        max_question_tokens: int = 128,
        candidates: int = 5,
        verify: bool = True,
        strictness: str | float = "strict",
    ) -> None:
        from .verify import bar_of

        bar_of(strictness)  # raises InvalidRequest for an unknown setting
        if threshold is None:
            threshold = VERIFIED_THRESHOLD if verify else DEFAULT_THRESHOLD
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
            raise InvalidRequest(
                f"semantic threshold must be greater than 0 and at most 1 (got {threshold!r})", "semantic"
            )
        if not isinstance(max_question_tokens, int) or max_question_tokens < 1:
            raise InvalidRequest(
                f"max_question_tokens must be an integer >= 1 (got {max_question_tokens!r})", "semantic"
            )
        if not isinstance(candidates, int) or candidates < 1:
            raise InvalidRequest(f"candidates must be an integer >= 1 (got {candidates!r})", "semantic")
        self.threshold = float(threshold)
        self.embedder = embedder
        self.guards = (not verify) if guards is None else bool(guards)
        self.max_question_tokens = max_question_tokens
        self.candidates = candidates
        self.verify = bool(verify)
        self.strictness = strictness

    @classmethod
    def from_option(
        cls,
        value: Any,
        threshold: float | None = None,
        embedder: str | None = None,
        strictness: str | float | None = None,
    ) -> SemanticPolicy | None:
        """The policy for ``Client(semantic=...)``: False/None (off), True (defaults), or a SemanticPolicy.

        ``threshold``, ``embedder`` and ``strictness`` (from the config file) apply when ``value`` is True.
        """
        if value is None or value is False:
            return None
        if isinstance(value, SemanticPolicy):
            return value
        if value is True:
            if isinstance(strictness, str) and strictness.replace(".", "", 1).isdigit():
                strictness = float(strictness)  # "0.99" from an environment or a quoted TOML value
            return cls(threshold, embedder=embedder or "minilm", strictness=strictness or "strict")
        raise InvalidRequest(f"semantic must be True, False or a SemanticPolicy (got {value!r})", "semantic")


def question_of(request: ChatRequest) -> str | None:
    """The question a semantic hit may paraphrase: only when it is the last message (the partition
    hashes everything before it, so an answer after a later turn is never shared) and plain text."""
    m = request.question_message()
    # Content parts (images, audio) or a named turn never match by meaning.
    return m.content if m is request.messages[-1] and m.data is None else None


def fingerprint(embedder_name: str, identity: str, request: ChatRequest) -> str:
    """The partition of a request: a hash of everything but its last question.

    Model, provider (kind and base URL), system prompt and data context, earlier turns and every
    output-changing parameter: two requests that differ in any of these never share an answer.
    The embedder's name is in it too, so vectors from two models are never compared.
    """
    rest = request.with_messages(request.messages[:-1])
    h = hashlib.sha256(b"prosa-semantic-1\x00")
    for part in (embedder_name.encode(), identity.encode(), rest.canonical()):
        h.update(part)
        h.update(b"\x00")
    if request.scope:  # the tenant/namespace: a paraphrase is never matched across scopes (issue 13)
        h.update(b"scope\x00" + request.scope.encode())
    return h.hexdigest()
