"""Reading data: every supported type as labelled pieces, SQLite strictly read-only, bad input as one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from prosa.errors import InvalidRequest
from prosa.grounding import FileSource, SQLiteSource, TextSource
from prosa.grounding.sources import as_sources
from tests.grounding.helpers import make_pdf, make_products_csv, make_shop_db


def pieces(source) -> list[tuple[str, str]]:
    return [(p.label, p.text) for p in source.pieces()]


def test_csv_rows_are_labelled_with_their_line_numbers(tmp_path: Path):
    path = tmp_path / "products.csv"
    path.write_text('id,name,note\n1,Widget,"a, quoted ""note"""\n\n2,Gadget,"two\nlines"\n3,Gizmo,x\n')
    source = FileSource(path)
    got = pieces(source)
    assert got == [
        ("products.csv:2", '1,Widget,"a, quoted ""note"""'),
        ("products.csv:4", '2,Gadget,"two\nlines"'),
        ("products.csv:6", "3,Gizmo,x"),  # the quoted newline takes two lines, as an editor shows
    ]
    assert source.headers == {"products.csv": "columns: id,name,note"}


def test_tsv_and_a_byte_order_mark(tmp_path: Path):
    path = tmp_path / "t.tsv"
    path.write_bytes('\ufeffsize\tlabel\n5"\tscreen\n'.encode())
    source = FileSource(path)
    assert pieces(source) == [("t.tsv:2", '"5""",screen')]
    assert source.headers["t.tsv"] == "columns: size,label"


def test_json_records_and_keys(tmp_path: Path):
    (tmp_path / "a.json").write_text('[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]')
    assert pieces(FileSource(tmp_path / "a.json")) == [
        ("a.json[0]", '{"id":1,"name":"Ada"}'),
        ("a.json[1]", '{"id":2,"name":"Bob"}'),
    ]
    (tmp_path / "b.json").write_text('{"title": "Shop", "items": [{"sku": "x1"}], "tags": ["a", "b"]}')
    assert pieces(FileSource(tmp_path / "b.json")) == [
        ("b.json.title", 'title: "Shop"'),
        ("b.json.items[0]", '{"sku":"x1"}'),
        ("b.json.tags", 'tags: ["a","b"]'),
    ]


def test_jsonl_lines(tmp_path: Path):
    (tmp_path / "e.jsonl").write_text('{"a": 1}\n\n{"a": "é"}\n')
    assert pieces(FileSource(tmp_path / "e.jsonl")) == [("e.jsonl:1", '{"a":1}'), ("e.jsonl:3", '{"a":"é"}')]


def test_text_and_markdown_paragraphs(tmp_path: Path):
    md = "# Install\n\nRun pip.\n\n# Usage\n\nCall it.\nTwice.\n"
    (tmp_path / "guide.md").write_text(md)
    assert pieces(FileSource(tmp_path / "guide.md")) == [
        ("guide.md:1", "# Install\nRun pip."),
        ("guide.md:5", "# Usage\nCall it.\nTwice."),
    ]
    long = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(10))
    (tmp_path / "notes.txt").write_text(long)
    got = pieces(FileSource(tmp_path / "notes.txt"))
    assert 2 < len(got) < 10  # paragraphs are grouped, not one piece each nor one in all
    assert all(len(text) <= 2000 for _, text in got)
    assert got[0][0] == "notes.txt:1" and got[1][0].startswith("notes.txt:")


def test_pdf_pages(tmp_path: Path):
    make_pdf(tmp_path / "manual.pdf", ["Pumps need oil", "", "Warranty lasts two years"])
    assert pieces(FileSource(tmp_path / "manual.pdf")) == [
        ("manual.pdf:p1", "Pumps need oil"),
        ("manual.pdf:p3", "Warranty lasts two years"),
    ]


def test_text_source():
    assert pieces(TextSource("Open at 9.\n\nClosed Sundays.", name="hours")) == [
        ("hours:1", "Open at 9.\nClosed Sundays.")
    ]


def test_sqlite_tables_queries_and_every_table(tmp_path: Path):
    db = make_shop_db(tmp_path / "shop.db")
    source = SQLiteSource(db, table="products")
    got = pieces(source)
    assert got[0] == ("shop.db:products:1", "1,Model1 Gadget,1.5") and len(got) == 20
    assert source.headers == {"shop.db:products": "columns: id,name,price"}
    query = SQLiteSource(db, sql="SELECT name, price FROM products WHERE price > 28 ORDER BY price DESC")
    assert pieces(query) == [
        ("shop.db:query:1", "Model20 Gizmo,30.0"),
        ("shop.db:query:2", "Model19 Gadget,28.5"),
    ]
    every = {p.group for p in SQLiteSource(db).pieces()}
    assert every == {"shop.db:orders", "shop.db:products"}


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM products",
        "DROP TABLE products",
        "INSERT INTO products VALUES (99, 'x', 1)",
        "UPDATE products SET price = 0",
    ],
)
def test_sqlite_is_read_only(tmp_path: Path, sql: str):
    db = make_shop_db(tmp_path / "shop.db")
    before = db.read_bytes()
    with pytest.raises(InvalidRequest, match="read-only") as e:
        list(SQLiteSource(db, sql=sql).pieces())
    assert "\n" not in str(e.value)
    assert db.read_bytes() == before
    assert sqlite3.connect(db).execute("SELECT count(*) FROM products").fetchone() == (20,)


def test_sqlite_errors(tmp_path: Path):
    db = make_shop_db(tmp_path / "shop.db")
    with pytest.raises(InvalidRequest, match="no such table: nope"):
        list(SQLiteSource(db, sql="SELECT * FROM nope").pieces())
    with pytest.raises(InvalidRequest, match="has no table 'nope' \\(it has: orders, products\\)"):
        list(SQLiteSource(db, table="nope").pieces())
    with pytest.raises(InvalidRequest, match="SQL error"):
        list(SQLiteSource(db, sql="SELECT 1; SELECT 2").pieces())
    (tmp_path / "fake.db").write_text("not a database")
    with pytest.raises(InvalidRequest, match="not a SQLite database"):
        list(SQLiteSource(tmp_path / "fake.db").pieces())


def _bad(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "is empty"),
        ("blank.txt", "\n\n  \n", "has no data"),
        ("header.csv", "a,b\n", "has a header but no rows"),
        ("ragged.csv", "a,b\n1,2\n3,4,5\n", "line 3 has 3 fields but the header has 2"),
        ("quote.csv", 'a,b\n1,"unterminated\n', "not valid CSV"),
        ("bad.json", '{"a": 1,', "not valid JSON: .* line 1"),
        ("bad.jsonl", '{"a": 1}\n{oops}\n', "line 2 is not valid JSON"),
        ("junk.csv", b"\x00\x01\x02\xff" * 100, "looks like a binary file"),
        ("latin1.txt", "caf\xe9 au lait".encode("latin-1"), "not UTF-8"),
        ("fake.pdf", "just text", "not a PDF"),
        ("broken.pdf", b"%PDF-1.4\n garbage garbage", "not a readable PDF"),
        ("sheet.xlsx", b"PK\x03\x04 zip", "unsupported data type .xlsx"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, name: str, content, message: str):
    path = _bad(tmp_path, name, content)
    with pytest.raises(InvalidRequest, match=message) as e:
        for item in as_sources([path]):
            list(item.pieces())
    assert "\n" not in str(e.value)


def test_missing_and_directory(tmp_path: Path):
    with pytest.raises(InvalidRequest, match="does not exist"):
        as_sources([tmp_path / "nope.csv"])
    with pytest.raises(InvalidRequest, match="is a directory"):
        as_sources([tmp_path])


def test_labels_use_the_path_when_names_collide(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = make_products_csv(tmp_path / "a" / "p.csv", 1)
    two = make_products_csv(tmp_path / "b" / "p.csv", 1)
    names = [s.name for s in as_sources([str(one), str(two), str(make_products_csv(tmp_path / "q.csv", 1))])]
    assert names == [str(one), str(two), "q.csv"]


def test_table_needs_a_database(tmp_path: Path):
    with pytest.raises(InvalidRequest, match="need a SQLite database"):
        as_sources([make_products_csv(tmp_path / "p.csv", 2)], tables=["x"])
