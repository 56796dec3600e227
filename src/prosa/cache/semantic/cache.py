"""SemanticCache: after an exact miss, find a stored question that means the same; index new ones.

The order of a lookup, and why:
1. Exact match first (in the client, before this runs): free, and always right.
2. The question must be the last message, by the user, and short enough to embed faithfully.
3. Only the request's partition is searched: same model, provider, system prompt, earlier turns
   and parameters. A paraphrase under another system prompt or temperature never matches.
4. Candidates at or above the threshold, best first (with the verifier off, each checked by the
   guards, cheap word-list vetoes), judged by the verifier (the pair model reads both questions at
   once): the best alone, then the rest in one batch; the first verified one whose entry still
   exists is the hit.
Any failure here (embedder, index) is logged once and the request goes on as a plain miss.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._record import Record
from ...errors import CacheError, ConfigError, ProsaError
from ..cache import Hit
from .embed import INSTALL_HINT, Embedder, available, load_embedder, minilm_dir
from .guards import veto
from .index import MemoryVectorIndex, VectorIndex
from .policy import SemanticPolicy, fingerprint, question_of
from .verify import Verdict, Verifier

if TYPE_CHECKING:
    from ...config import Settings
    from ..cache import ResponseCache
    from ..stores import Store

log = logging.getLogger("prosa.cache.semantic")
_MEMO = 1024  # question -> vector, so a paraphrase asked again costs no second embedding


class Probe(Record):
    """A question ready for the index: its partition, text and vector."""

    __slots__ = ("partition", "question", "vector")

    def __init__(self, partition: str, question: str, vector: np.ndarray) -> None:
        self.partition, self.question, self.vector = partition, question, vector


class SemanticCache:
    """The semantic layer over one ResponseCache. Shared indexes: one per store, per process."""

    def __init__(
        self, cache: ResponseCache, policy: SemanticPolicy, settings: Settings | None = None
    ) -> None:
        self.cache = cache
        self.policy = policy
        self.settings = settings
        if policy.embedder in (None, "minilm") and not available():
            minilm_dir()  # raises ConfigError now, with the install hint, if the weights are missing
            raise ConfigError(f"the semantic cache needs numpy: {INSTALL_HINT}")
        if policy.verify and not available():
            raise ConfigError(
                f"the semantic verifier needs the bundled MiniLM model: {INSTALL_HINT}; "
                "or turn it off with SemanticPolicy(verify=False)"
            )
        self.index = index_for(cache.store)
        self._embedder: Embedder | None = None
        self._verifier: Verifier | None = None
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._warned = False

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.policy.embedder, self.settings)
        return self._embedder

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(load_embedder("minilm", self.settings), self.policy.strictness)
        return self._verifier

    def probe(self, identity: str, request: Any) -> Probe | None:
        """The request's question, embedded, and its partition; None if it cannot be matched."""
        question = question_of(request)
        if question is None:
            return None
        embedder = self.embedder
        if embedder.count_tokens(question) > self.policy.max_question_tokens:
            return None
        return Probe(fingerprint(embedder.name, identity, request), question, self._vector(question))

    def _vector(self, question: str) -> np.ndarray:
        with self._lock:
            vector = self._memo.get(question)
            if vector is not None:
                self._memo.move_to_end(question)
                return vector
        vector = self.embedder.embed([question])[0]
        with self._lock:
            self._memo[question] = vector
            if len(self._memo) > _MEMO:
                self._memo.popitem(last=False)
        return vector

    def lookup(self, call: Any) -> Hit | None:
        """A semantic hit for ``call`` (after an exact miss): the entry served, its key and the score.

        Nothing is written into ``call``; the question's vector stays memoised, so a miss's answer
        is indexed (``remember``) without a second embedding. The verifier's
        score of a verified hit is ``Hit.score``.
        """
        try:
            probe = self.probe(call.provider.identity, call.request)
            if probe is None:
                return None
            policy = self.policy
            matches = [
                m
                for m in self.index.search(probe.partition, probe.vector, policy.threshold, policy.candidates)
                if not (policy.guards and veto(probe.question, m.question))
            ]
            verdicts = (
                self._verdicts(probe.question, [m.question for m in matches]) if policy.verify else None
            )
            for i, match in enumerate(matches):
                score = None
                if verdicts is not None:
                    verdict = verdicts(i)
                    log.debug("semantic: %r / %r: %.4f", probe.question, match.question, verdict.score)
                    if not verdict.verified:
                        continue
                    score = verdict.score
                entry = self.cache.lookup(match.key)
                if entry is None:
                    self.index.remove(match.key)  # its entry was evicted, expired or cleared
                    continue
                self.cache.count("semantic_hits")
                return Hit(entry, match.key, round(match.score, 4), score)
        except Exception as exc:  # noqa: BLE001 - a semantic failure must never fail the request
            self._fail(exc)
        return None

    def _verdicts(self, question: str, others: list[str]) -> Callable[[int], Verdict]:
        """The verifier's verdict on candidate ``i``, read lazily: the best candidate alone (a hit
        there ends the lookup), then all the others in one batch (five candidates: 62 ms against 89
        read one by one on this 2-core machine; most lookups have one)."""
        got: list[Verdict] = []

        def verdict(i: int) -> Verdict:
            if i >= len(got):
                end = len(others) if got else 1
                got.extend(self.verifier.verify_many(question, others[len(got) : end]))
            return got[i]

        return verdict

    def remember(self, call: Any, key: str) -> None:
        """Index the question of an answer just saved under ``key``."""
        try:
            probe = self.probe(call.provider.identity, call.request)
            if probe is not None:
                self.index.add(probe.partition, key, probe.question, probe.vector)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        if isinstance(exc, CacheError):
            self.cache.warn(exc)
        elif not self._warned:
            self._warned = True
            what = str(exc) if isinstance(exc, ProsaError) else f"{type(exc).__name__}: {exc}"
            log.warning("semantic cache failed (%s); answering without semantic hits", what)


_indexes: weakref.WeakKeyDictionary[Store, VectorIndex] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def index_for(store: Store) -> VectorIndex:
    """The vector index that goes with a store (one per store object, shared by its clients)."""
    from ..stores import MemoryStore, SQLiteStore

    with _indexes_lock:
        index = _indexes.get(store)
        if index is None:
            if isinstance(store, SQLiteStore):
                from .sqlite_index import SQLiteVectorIndex

                index = SQLiteVectorIndex(store.path, store.busy_timeout)
            elif getattr(store, "supports_locks", False) and hasattr(store, "entry_name"):  # RedisStore
                from .redis_index import RedisVectorIndex

                index = RedisVectorIndex(store)
            elif isinstance(store, MemoryStore):
                index = MemoryVectorIndex(max_vectors=store.max_entries)
            else:
                log.info(
                    "semantic: %s has no vector index yet; vectors are kept in this process only", store.url
                )
                index = MemoryVectorIndex()
            _indexes[store] = index
    return index
