"""Where question vectors live: one small interface, an in-process index and a SQLite one.

Vectors are grouped in partitions (one per request fingerprint: everything but the last question),
so a search only scores the questions that could share an answer. Each vector points at the key
of a cache entry; the entry itself stays in the response cache's store. A vector whose entry is
gone (evicted, expired, cleared) is dropped the first time a search finds it.

A RedisStore can get a ``RedisVectorIndex`` with the same four methods: a hash per partition
(key -> question + vector bytes) and a counter per partition for change detection.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict

import numpy as np

from ..._record import Record


class Match(Record):
    """One stored question close to the one asked."""

    __slots__ = ("key", "question", "score")

    def __init__(self, key: str, question: str, score: float) -> None:
        self.key, self.question, self.score = key, question, score


class VectorIndex(ABC):
    """Vectors by partition, each pointing at a cache key. Thread-safe."""

    @abstractmethod
    def add(self, partition: str, key: str, question: str, vector: np.ndarray) -> None:
        """Index ``vector`` (a unit float32 row) for the entry ``key``, replacing any older one for it."""

    @abstractmethod
    def search(self, partition: str, vector: np.ndarray, threshold: float, limit: int) -> list[Match]:
        """The entries of ``partition`` scoring at least ``threshold`` (cosine), best first, at most ``limit``."""

    @abstractmethod
    def remove(self, key: str) -> None:
        """Forget the vector of ``key`` (its entry is gone)."""

    @abstractmethod
    def count(self) -> int:
        """How many vectors are indexed."""

    def close(self) -> None:  # noqa: B027 - nothing to release for an in-process index
        """Release what the index holds open."""


class Partition:
    """The vectors of one partition as one matrix, grown by doubling: a search is one mat-vec."""

    __slots__ = ("keys", "questions", "rows", "matrix", "size", "last_id", "removed")

    def __init__(self, dim: int) -> None:
        self.keys: list[str] = []
        self.questions: list[str] = []
        self.rows: dict[str, int] = {}  # key -> its row in the matrix
        self.matrix = np.empty((4, dim), dtype=np.float32)
        self.size = 0
        self.last_id = 0  # SQLite: the highest row id loaded
        self.removed = -1  # SQLite: the partition's removal count when loaded (-1: never loaded)

    def add(self, key: str, question: str, vector: np.ndarray) -> None:
        self.remove(key)
        if self.size == len(self.matrix):
            grown = np.empty((2 * len(self.matrix), self.matrix.shape[1]), dtype=np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
        self.matrix[self.size] = vector
        self.rows[key] = self.size
        self.keys.append(key)
        self.questions.append(question)
        self.size += 1

    def remove(self, key: str) -> bool:
        i = self.rows.pop(key, None)
        if i is None:
            return False
        last = self.size - 1
        if i != last:  # move the last row into the hole: O(1), and order does not matter to a search
            self.matrix[i] = self.matrix[last]
            self.keys[i], self.questions[i] = self.keys[last], self.questions[last]
            self.rows[self.keys[i]] = i
        self.keys.pop()
        self.questions.pop()
        self.size = last
        return True

    def search(self, vector: np.ndarray, threshold: float, limit: int) -> list[Match]:
        if self.size == 0 or self.matrix.shape[1] != vector.shape[0]:
            return []
        scores = self.matrix[: self.size] @ vector
        hits = np.flatnonzero(scores >= threshold)
        if len(hits) > limit:
            hits = hits[np.argpartition(scores[hits], -limit)[-limit:]]
        best = hits[np.argsort(-scores[hits])]
        return [Match(self.keys[i], self.questions[i], float(scores[i])) for i in best]


class MemoryVectorIndex(VectorIndex):
    """Vectors in this process only: for MemoryStore, and for stores with no index of their own."""

    def __init__(self, max_vectors: int | None = None) -> None:
        self.max_vectors = max_vectors
        self._partitions: dict[str, Partition] = {}
        self._where: OrderedDict[str, str] = OrderedDict()  # key -> partition, oldest first
        self._lock = threading.Lock()

    def add(self, partition: str, key: str, question: str, vector: np.ndarray) -> None:
        with self._lock:
            self._remove(key)
            part = self._partitions.get(partition)
            if part is None:
                part = self._partitions[partition] = Partition(vector.shape[0])
            part.add(key, question, vector)
            self._where[key] = partition
            # Bounded like the store it serves: the oldest vectors go first (their entries likely have).
            while self.max_vectors is not None and len(self._where) > self.max_vectors:
                self._remove(next(iter(self._where)))

    def search(self, partition: str, vector: np.ndarray, threshold: float, limit: int) -> list[Match]:
        with self._lock:
            part = self._partitions.get(partition)
            return part.search(vector, threshold, limit) if part is not None else []

    def remove(self, key: str) -> None:
        with self._lock:
            self._remove(key)

    def _remove(self, key: str) -> None:
        partition = self._where.pop(key, None)
        if partition is not None:
            part = self._partitions[partition]
            part.remove(key)
            if part.size == 0:
                del self._partitions[partition]

    def count(self) -> int:
        with self._lock:
            return len(self._where)
