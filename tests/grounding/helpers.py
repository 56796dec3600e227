"""Fixture files made on the fly: CSVs of any size, SQLite databases, and small real PDFs."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from prosa.grounding import tokens

# The real loader, kept before the autouse fixture replaces it (tests/grounding/conftest.py).
REAL_TIKTOKEN_ENCODING = tokens._tiktoken_encoding

CATEGORIES = ("tools", "toys", "garden", "kitchen")


def product_name(i: int) -> str:
    # Distinct, searchable words per product, so one product can be asked about by name.
    return f"Model{i} {('Widget', 'Gadget', 'Gizmo')[i % 3]}"


def make_products_csv(path: Path, rows: int, delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(["id", "name", "price", "category"])
        for i in range(1, rows + 1):
            w.writerow([i, product_name(i), f"{(i * 37) % 1000 / 10:.2f}", CATEGORIES[i % 4]])
    return path


def make_shop_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
        conn.executemany(
            "INSERT INTO products VALUES (?, ?, ?)", [(i, product_name(i), i * 1.5) for i in range(1, 21)]
        )
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, product_id INTEGER, qty INTEGER)")
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?)", [(i, i % 20 + 1, i % 5 + 1) for i in range(1, 11)]
        )
    conn.close()
    return path


def make_pdf(path: Path, pages: list[str]) -> Path:
    """A minimal, valid PDF with one line of Helvetica text per page (no PDF library needed)."""
    n = len(pages)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{off:010d} 00000 n \n" for off in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path
