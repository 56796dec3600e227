"""SQLite tables and queries as data, opened read-only so that no statement can change the database."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest
from .readers import Piece, clip, join_fields
from .source_base import SQLITE_MAGIC, Source, check_file, sniff


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write: ``mode=ro`` in the URI, and ``query_only`` as a second lock."""
    if not sniff(path).startswith(SQLITE_MAGIC):
        raise InvalidRequest(f"{path} is not a SQLite database")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as e:
        raise InvalidRequest(f"cannot open {path} read-only: {e}") from None
    return conn


def _cell(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<blob {len(value)} bytes>"
    return value


class SQLiteSource(Source):
    """Rows of SQLite tables or queries: ``SQLiteSource("shop.db", table="products")`` or ``sql="SELECT ..."``.

    With neither, every table is read. Labels: ``shop.db:products:17`` (the rowid) for tables,
    ``shop.db:query:3`` (the row number) for a query.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        table: str | None = None,
        sql: str | None = None,
        *,
        tables: Sequence[str] = (),
        queries: Sequence[str] = (),
        name: str | None = None,
    ) -> None:
        self.path = check_file(path)
        super().__init__(name or self.path.name)
        self.tables = [*([table] if table else []), *tables]
        self.queries = [*([sql] if sql else []), *queries]
        self._rows = [0, 0]

    def progress(self) -> tuple[int, int]:
        return self._rows[0], self._rows[1]

    def pieces(self) -> Iterator[Piece]:
        conn = connect_readonly(self.path)
        try:
            tables = self.tables or ([] if self.queries else self._all_tables(conn))
            for table in tables:
                yield from self._table(conn, table)
            for i, sql in enumerate(self.queries, 1):
                group = f"{self.name}:query" if len(self.queries) == 1 else f"{self.name}:query{i}"
                yield from self._rows_of(conn, group, sql, None)
        finally:
            conn.close()

    def _all_tables(self, conn: sqlite3.Connection) -> list[str]:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        if not names:
            raise InvalidRequest(f"{self.path} has no tables")
        return names

    def _table(self, conn: sqlite3.Connection, table: str) -> Iterator[Piece]:
        known = conn.execute(
            "SELECT type FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')", (table,)
        ).fetchone()
        if known is None:
            have = ", ".join(self._all_tables(conn))
            raise InvalidRequest(f"{self.path} has no table {table!r} (it has: {have})")
        quoted = '"' + table.replace('"', '""') + '"'
        group = f"{self.name}:{table}"
        try:
            # rowid is what the model cites; views and WITHOUT ROWID tables have none, so count rows.
            conn.execute(f"SELECT rowid FROM {quoted} LIMIT 0")
            sql, rowid = f"SELECT rowid, * FROM {quoted}", True
        except sqlite3.Error:
            sql, rowid = f"SELECT * FROM {quoted}", False
        yield from self._rows_of(conn, group, sql, rowid)

    def _rows_of(self, conn: sqlite3.Connection, group: str, sql: str, rowid: bool | None) -> Iterator[Piece]:
        where = "--sql" if rowid is None else "table"
        try:
            cursor = conn.execute(sql)
        except sqlite3.OperationalError as e:
            raise self._error(e, where) from None
        except (sqlite3.Error, sqlite3.Warning) as e:  # e.g. two statements at once
            raise InvalidRequest(f"SQL error on {self.path}: {e}") from None
        if cursor.description is None:
            raise InvalidRequest(f"{where} on {self.path} returned no rows: only SELECT queries are allowed")
        columns = [d[0] for d in cursor.description]
        if rowid:
            columns = columns[1:]
        self.headers[group] = "columns: " + join_fields(columns)
        number = 0
        try:
            while True:
                batch = cursor.fetchmany(1000)
                if not batch:
                    break
                for row in batch:
                    number += 1
                    self._rows[0] += 1
                    key, values = (row[0], row[1:]) if rowid else (number, row)
                    yield Piece(group, f"{group}:{key}", clip(join_fields(_cell(v) for v in values)))
        except sqlite3.OperationalError as e:
            raise self._error(e, where) from None

    def _error(self, error: sqlite3.Error, where: str) -> InvalidRequest:
        text = str(error)
        if "readonly" in text or "read-only" in text or "query_only" in text:
            return InvalidRequest(
                f"{self.path} is opened read-only: {where} must only read (SELECT); SQLite said: {text}"
            )
        return InvalidRequest(f"SQL error in {where} on {self.path}: {text}")
