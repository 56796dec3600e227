"""Knowledge bases: persistent FTS5 indexes; unchanged files skipped, changed ones replaced, search with labels."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from prosa import Client
from prosa.errors import InvalidRequest
from prosa.grounding import KnowledgeBase, data_dir, ground, list_knowledge_bases
from tests.grounding.helpers import make_pdf, make_products_csv, product_name


def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "handbook"
    (folder / "hr").mkdir(parents=True)
    (folder / "hr" / "vacation.md").write_text("# Vacation\n\nEveryone gets 25 vacation days a year.\n")
    (folder / "it.txt").write_text("Reset your password at the self-service portal.\n")
    (folder / "logo.png").write_bytes(b"\x89PNG not data")  # unsupported: skipped inside a directory
    (folder / ".hidden.md").write_text("secret")
    make_pdf(folder / "safety.pdf", ["Wear goggles in the lab", "Fire exits are marked green"])
    return folder


def test_add_search_and_list(tmp_path: Path):
    kb = KnowledgeBase("docs")
    result = kb.add([docs(tmp_path)])
    assert sorted(result.added) == ["handbook/hr/vacation.md", "handbook/it.txt", "handbook/safety.pdf"]
    assert kb.path == data_dir() / "kb" / "docs.db"
    hits = kb.search("how many vacation days")
    assert hits[0].piece.label == "handbook/hr/vacation.md:1" and "25 vacation days" in hits[0].piece.text
    assert kb.search("fire exits")[0].piece.label == "handbook/safety.pdf:p2"
    assert kb.search("zebra") == []
    info = kb.info()
    assert info["files"] == 3 and info["pieces"] == 4
    assert [k.name for k in list_knowledge_bases()] == ["docs"]
    with pytest.raises(InvalidRequest, match="no searchable words"):
        kb.search("the of and")


def test_unchanged_files_are_skipped_and_changed_ones_replaced(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 50)
    kb = KnowledgeBase("shop")
    assert kb.add([csv]).added == ["products.csv"]
    again = kb.add([csv])
    assert again.unchanged == ["products.csv"] and again.pieces == 0
    csv.write_text(csv.read_text().replace(product_name(7), "Model7 Sprocket"))
    replaced = kb.add([csv])
    assert replaced.replaced == ["products.csv"] and replaced.pieces == 50
    assert kb.search("sprocket")[0].piece.label == "products.csv:8"
    assert kb.search("Model7")[0].piece.text == "7,Model7 Sprocket,25.90,kitchen"
    conn = sqlite3.connect(kb.path)
    assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (50,)  # the old rows are gone
    assert conn.execute("SELECT count(*) FROM chunks WHERE chunks MATCH 'gadget'").fetchone()[0] == 16


def test_a_bad_file_leaves_the_others_and_itself_as_they_were(tmp_path: Path):
    good = make_products_csv(tmp_path / "good.csv", 5)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n" + "1,2\n" * 3000 + "1,2,3\n")  # fails after the first batches were inserted
    kb = KnowledgeBase("mixed")
    with pytest.raises(InvalidRequest, match="bad.csv line 3002 has 3 fields"):
        kb.add([good, bad])
    assert [f["label"] for f in kb.files()] == ["good.csv"]
    assert sqlite3.connect(kb.path).execute("SELECT count(*) FROM chunks").fetchone() == (5,)


def test_errors(tmp_path: Path):
    with pytest.raises(InvalidRequest, match="no knowledge base named 'nope'"):
        KnowledgeBase("nope").search("widget")
    with pytest.raises(InvalidRequest, match="no knowledge base named 'nope'"):
        KnowledgeBase("nope").remove()
    with pytest.raises(InvalidRequest, match="not valid"):
        KnowledgeBase("a/b")
    with pytest.raises(InvalidRequest, match="unsupported data type .png"):
        KnowledgeBase("x").add([tmp_path / "logo.png"] if (tmp_path / "logo.png").write_bytes(b"x") else [])
    with pytest.raises(InvalidRequest, match="does not exist"):
        KnowledgeBase("x").add([tmp_path / "missing.csv"])


def test_remove(tmp_path: Path):
    kb = KnowledgeBase("gone")
    kb.add([make_products_csv(tmp_path / "p.csv", 3)])
    kb.remove()
    assert not kb.path.exists() and list_knowledge_bases() == []


def test_grounding_from_a_knowledge_base_and_a_file(tmp_path: Path):
    kb = KnowledgeBase("docs")
    kb.add([docs(tmp_path)])
    extra = tmp_path / "extra.md"
    extra.write_text("Vacation requests go to your manager.\n")
    client = Client(model="gpt-4o-mini", cache=None)
    request, report = ground(client, "How many vacation days do I get?", None, {}, data=[kb, str(extra)])
    system = request.messages[0].content
    assert "[handbook/hr/vacation.md:1] # Vacation\nEveryone gets 25 vacation days a year." in system
    assert "[extra.md:1] Vacation requests go to your manager." in system
    assert "goggles" not in system  # unrelated pieces stay out
    assert report.context.mode == "ranked" and report.context.total is None
    request, _ = ground(client, "quantum chromodynamics", None, {}, data=[kb])
    assert "(no passage matches the question)" in request.messages[0].content


def test_sqlite_and_jsonl_files_in_a_knowledge_base(tmp_path: Path):
    from tests.grounding.helpers import make_shop_db

    db = make_shop_db(tmp_path / "shop.db")
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "launch", "city": "Lisbon"}\n{"event": "recall", "city": "Oslo"}\n')
    kb = KnowledgeBase("mixed")
    progress: list[tuple[str, int, int, int]] = []
    kb.add([db, events], progress=lambda *a: progress.append(a), tables=["products"])
    assert kb.search("Model12")[0].piece.label == "shop.db:products:12"
    assert kb.search("recall Oslo")[0].piece.label == "events.jsonl:2"
    assert kb.headers()["shop.db:products"] == "columns: id,name,price"
    assert {p[0] for p in progress} == {"shop.db", "events.jsonl"}  # at least one report per file
    assert progress[-1][3] == 2  # pieces of the last file
