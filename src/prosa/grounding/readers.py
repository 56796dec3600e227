"""Readers that turn one file's content into labelled pieces, streaming, in bounded memory.

Tables give one piece per row (label: the file's line number, as an editor shows it), JSON one per
record, text one per group of paragraphs (label: its first line), PDF one or more per page (``p3``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from ..errors import InvalidRequest

# A text piece grows paragraph by paragraph up to TARGET characters and is cut at MAX: big enough
# to carry a thought, small enough that retrieval can pick the right one.
TARGET_CHARS = 1000
MAX_CHARS = 2000
# A single row or record longer than this is cut, so one odd row cannot eat the whole budget.
MAX_PIECE_CHARS = 4000


class Piece(NamedTuple):
    """One labelled piece of data: ``group`` is its table or file, ``label`` what the model cites."""

    group: str
    label: str
    text: str


def clip(text: str) -> str:
    return text if len(text) <= MAX_PIECE_CHARS else text[: MAX_PIECE_CHARS - 12] + " …(cut)"


def join_fields(values: Iterable[Any]) -> str:
    """Values as one comma-separated line, quoted only where a value needs it (as CSV does)."""
    out = []
    for value in values:
        text = "" if value is None else str(value)
        if "," in text or '"' in text or "\n" in text or "\r" in text:
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out)


def read_table(name: str, kind: str, lines: Iterable[str], headers: dict[str, str]) -> Iterator[Piece]:
    """CSV or TSV rows. The header goes into ``headers``; a row of the wrong width is an error."""
    if kind == "tsv":
        # TSV has no quoting: a '"' in a value is just a character.
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE, strict=True)
    else:
        reader = csv.reader(lines, strict=True)
    what = kind.upper()
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            return
        width = len(header)
        headers[name] = "columns: " + join_fields(header)
        end = reader.line_num
        rows = 0
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:
                continue
            if len(row) != width:
                raise InvalidRequest(
                    f"{name} line {start} has {len(row)} fields but the header has {width}; "
                    f"is it a valid {what} file?"
                )
            rows += 1
            yield Piece(name, f"{name}:{start}", clip(join_fields(row)))
    except csv.Error as e:
        raise InvalidRequest(f"{name} is not valid {what} near line {reader.line_num}: {e}") from None
    if rows == 0:
        raise InvalidRequest(f"{name} has a header but no rows")


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def read_json(name: str, text: Any) -> Iterator[Piece]:
    """A JSON document as records: array items ``name[3]``, lists of objects ``name.items[3]``, keys ``name.key``."""
    try:
        data = json.load(text)
    except json.JSONDecodeError as e:
        raise InvalidRequest(
            f"{name} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield Piece(name, f"{name}[{i}]", clip(compact_json(item)))
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                for i, item in enumerate(value):
                    yield Piece(name, f"{name}.{key}[{i}]", clip(compact_json(item)))
            else:
                yield Piece(name, f"{name}.{key}", clip(f"{key}: {compact_json(value)}"))
    elif data is not None:
        yield Piece(name, name, clip(compact_json(data)))


def read_jsonl(name: str, lines: Iterable[str]) -> Iterator[Piece]:
    """One JSON value per line, labelled by line number."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise InvalidRequest(f"{name} line {number} is not valid JSON: {e.msg}") from None
        yield Piece(name, f"{name}:{number}", clip(compact_json(value)))


def read_text(
    name: str, lines: Iterable[str], markdown: bool = False, label: str | None = None
) -> Iterator[Piece]:
    """Paragraphs grouped into pieces of about TARGET_CHARS, labelled ``name:LINE`` (or ``label``).

    A Markdown heading always starts a new piece, so a section's title travels with its text.
    """
    buf: list[str] = []
    size = 0
    start = 0

    def flush() -> Piece | None:
        nonlocal buf, size
        text = "\n".join(buf).strip()
        buf, size = [], 0
        return Piece(name, label or f"{name}:{start}", text) if text else None

    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        heading = markdown and stripped.startswith("#")
        # A paragraph ends at a blank line: the place to cut once the piece is big enough.
        if (
            (not stripped and size >= TARGET_CHARS)
            or (heading and buf)
            or (size + len(line) > MAX_CHARS and buf)
        ):
            piece = flush()
            if piece:
                yield piece
        if not stripped:
            continue
        if not buf:
            start = number
        while len(line) > MAX_CHARS:  # one huge line (minified text): cut it
            buf.append(line[:MAX_CHARS])
            line = line[MAX_CHARS:]
            piece = flush()
            if piece:
                yield piece
            start = number
        buf.append(line)
        size += len(line) + 1
    piece = flush()
    if piece:
        yield piece


def read_pdf(name: str, path: str, progress: list[int]) -> Iterator[Piece]:
    """Each page's text (pypdf), labelled ``name:p3``; a long page gives several pieces with that label."""
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about odd files are noise here
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:
        raise InvalidRequest(f"reading {name} needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidRequest(f"{name} is encrypted; decrypt it first (e.g. qpdf --decrypt)")
        total = len(reader.pages)
        progress[1] = total
        found = False
        for number, page in enumerate(reader.pages, 1):
            text = page.extract_text() or ""
            progress[0] = number
            if text.strip():
                found = True
                yield from read_text(name, text.splitlines(), label=f"{name}:p{number}")
    except InvalidRequest:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise InvalidRequest(f"{name} is not a readable PDF: {e}") from None
    if not found:
        raise InvalidRequest(f"{name} has no extractable text (a scanned PDF needs OCR first)")
