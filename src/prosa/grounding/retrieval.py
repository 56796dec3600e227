"""Ranking pieces against a question with SQLite FTS5 and BM25 (built into Python's sqlite3).

The same table layout serves a throwaway index of ``--data`` that does not fit the context, and the
persistent knowledge bases.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from .readers import Piece

# Porter stemming lets "products" find "product"; remove_diacritics lets "cafe" find "café".
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"

# A word matching more than max(COMMON_ROWS, COMMON_SHARE of the pieces) is "common" (see prune_common).
COMMON_ROWS = 20_000
COMMON_SHARE = 0.05

STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is
    it its me my no not of on or our please should so than that the their them then there these they
    this to us was we were what when where which who whom why will with would you your tell give show
    find list about""".split()
)


def create_fts(conn: sqlite3.Connection, table: str = "chunks") -> None:
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5("
        f"text, label UNINDEXED, grp UNINDEXED, tokenize = '{FTS_TOKENIZE}')"
    )


def query_words(question: str) -> list[str]:
    """The meaningful words of a question, in order, without stopwords or repeats (at most 32)."""
    words: list[str] = []
    for word in re.findall(r"\w+", question.lower()):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()) or word in words:
            continue
        words.append(word)
    return words[:32]


def match_query(question: str | list[str]) -> str | None:
    """An FTS5 query matching any of the words (BM25 ranks rarer words higher).

    Each word is quoted, so FTS5 syntax in the question (``AND``, ``*``, quotes) is plain text.
    """
    words = query_words(question) if isinstance(question, str) else question
    return " OR ".join(f'"{w}"' for w in words) if words else None


def _match_count(conn: sqlite3.Connection, table: str, word: str, cap: int) -> int:
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT ?)"
    return int(conn.execute(sql, (f'"{word}"', cap + 1)).fetchone()[0])


def prune_common(conn: sqlite3.Connection, words: list[str], total: int, table: str = "chunks") -> list[str]:
    """Leave out words found in very many pieces while a rarer word remains.

    Ranking costs time for every matching piece (about 2.5 us each), and a word in a large share of
    the pieces barely changes the ranking (its IDF is near zero). Counting stops at the cap, so this
    check costs little. Small indexes are left alone: nothing there is slow.
    """
    cap = max(COMMON_ROWS, int(total * COMMON_SHARE))
    if total <= cap or len(words) < 2:
        return words
    counts = {w: _match_count(conn, table, w, cap) for w in words}
    rare = [w for w in words if counts[w] <= cap]
    return rare or [min(words, key=counts.__getitem__)]


class Hit(NamedTuple):
    """A ranked piece: lower ``score`` is better (FTS5's bm25 is negative); ``order`` sorts it back into place."""

    score: float
    order: tuple[int, int]
    piece: Piece


# No budget holds more candidates than this; a LIMIT lets SQLite keep only the best N while sorting.
MAX_HITS = 20_000


def search(
    conn: sqlite3.Connection,
    words: list[str],
    origin: int = 0,
    total: int = 0,
    limit: int = MAX_HITS,
    table: str = "chunks",
) -> Iterator[Hit]:
    """Hits for any of the words, best first, read lazily (the caller stops when its budget is full).

    ``total`` (the number of pieces) lets very common words be left out (see :func:`prune_common`).
    """
    query = match_query(prune_common(conn, words, total, table))
    if query is None:
        return
    cursor = conn.execute(
        f"SELECT bm25({table}), rowid, grp, label, text FROM {table} WHERE {table} MATCH ? "
        f"ORDER BY bm25({table}) LIMIT ?",
        (query, limit),
    )
    for score, rowid, grp, label, text in cursor:
        yield Hit(score, (origin, rowid), Piece(grp, label, text))


def scan(conn: sqlite3.Connection, origin: int = 0, table: str = "chunks") -> Iterator[Hit]:
    """Every piece in its original order (when the question has nothing to rank by)."""
    for rowid, grp, label, text in conn.execute(
        f"SELECT rowid, grp, label, text FROM {table} ORDER BY rowid"
    ):
        yield Hit(0.0, (origin, rowid), Piece(grp, label, text))


class PieceIndex:
    """A throwaway FTS5 index in a temporary file (SQLite deletes it on close), so memory stays bounded."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect("")  # "" = a private temporary database on disk
        self.conn.execute("PRAGMA journal_mode = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")
        create_fts(self.conn)
        self.count = 0

    def add(self, pieces: Iterable[Piece]) -> None:
        def rows() -> Iterator[tuple[int, str, str, str]]:
            for piece in pieces:
                self.count += 1
                yield (self.count, piece.text, piece.label, piece.group)

        with self.conn:
            self.conn.executemany("INSERT INTO chunks(rowid, text, label, grp) VALUES (?, ?, ?, ?)", rows())

    def search(self, words: list[str]) -> Iterator[Hit]:
        return search(self.conn, words, total=self.count)

    def scan(self) -> Iterator[Hit]:
        return scan(self.conn)

    def close(self) -> None:
        self.conn.close()
