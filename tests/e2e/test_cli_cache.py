"""The CLI's cache: default SQLite file, --cache/--no-cache/--refresh, and every `prosa cache` subcommand."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support import run_prosa


def ask(upstream, *extra, model="ok"):
    return run_prosa(
        "ask",
        "--json",
        "-m",
        model,
        "--base-url",
        upstream.base_url,
        *extra,
        "hi",
        env={"OPENAI_API_KEY": "k"},
    )


def cached(out) -> bool:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["cached"]


def test_default_sqlite_cache_persists_between_runs(scripted_upstream, prosa_home):
    before = scripted_upstream.count()
    assert cached(ask(scripted_upstream)) is False
    assert cached(ask(scripted_upstream)) is True
    assert scripted_upstream.count() - before == 1
    assert (prosa_home / "cache" / "cache.db").exists()


def test_cache_flags(scripted_upstream, tmp_path):
    assert cached(ask(scripted_upstream, "--cache", "memory")) is False
    assert cached(ask(scripted_upstream, "--cache", "memory")) is False  # memory lives for one process
    path = str(tmp_path / "mine.db")
    assert cached(ask(scripted_upstream, "--cache", path)) is False
    assert cached(ask(scripted_upstream, "--cache", path)) is True
    assert cached(ask(scripted_upstream, "--cache", "off")) is False
    before = scripted_upstream.count()
    assert cached(ask(scripted_upstream, "--cache", path, "--no-cache")) is False
    assert cached(ask(scripted_upstream, "--cache", path, "--refresh")) is False
    assert cached(ask(scripted_upstream, "--cache", path)) is True
    assert scripted_upstream.count() - before == 2


def test_ctrl_c_mid_stream_stores_nothing(scripted_upstream, prosa_home):
    exe = Path(sys.executable).parent / "prosa"
    proc = subprocess.Popen(
        [str(exe), "ask", "-m", "drip", "--base-url", scripted_upstream.base_url, "interrupt me"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "OPENAI_API_KEY": "k"},
    )
    assert proc.stdout.read(3) == b" w0"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 130
    assert "Traceback" not in proc.stderr.read().decode()
    out = run_prosa("cache", "stats", "--json")
    assert json.loads(out.stdout)["entries"] == 0


def test_cache_subcommands(scripted_upstream, tmp_path):
    for q in ("first question", "second question"):
        run_prosa("ask", "-m", "ok", "--base-url", scripted_upstream.base_url, q, env={"OPENAI_API_KEY": "k"})
    run_prosa(
        "ask",
        "-m",
        "ok",
        "--base-url",
        scripted_upstream.base_url,
        "first question",
        env={"OPENAI_API_KEY": "k"},
    )

    stats = json.loads(run_prosa("cache", "stats", "--json").stdout)
    assert (stats["entries"], stats["hits"], stats["misses"]) == (2, 1, 2)
    table = run_prosa("cache", "stats").stdout
    assert "hit rate" in table and "33.3%" in table

    listed = run_prosa("cache", "list").stdout.splitlines()
    assert len(listed) == 2 and "second question" in listed[0] and "first question" in listed[1]
    assert len(run_prosa("cache", "list", "--limit", "1").stdout.splitlines()) == 1
    rows = [json.loads(line) for line in run_prosa("cache", "list", "--json").stdout.splitlines()]
    key = rows[1]["key"]

    shown = run_prosa("cache", "show", key[:8])
    assert shown.returncode == 0 and "one two three four five" in shown.stdout and key in shown.stdout
    assert json.loads(run_prosa("cache", "show", key, "--json").stdout)["text"] == "one two three four five"
    assert run_prosa("cache", "show", "ffffffff").returncode == 1
    assert run_prosa("cache", "show", "xyz").returncode == 2

    exported = tmp_path / "all.jsonl"
    assert run_prosa("cache", "export", "--format", "jsonl", "-o", str(exported)).returncode == 0
    assert len(exported.read_text().splitlines()) == 2
    stdout_export = run_prosa("cache", "export").stdout
    assert len(stdout_export.splitlines()) == 2

    cleared = run_prosa("cache", "clear")
    assert cleared.returncode == 0 and "deleted 2 entries" in cleared.stderr
    assert json.loads(run_prosa("cache", "stats", "--json").stdout)["entries"] == 0

    imported = run_prosa("cache", "import", str(exported))
    assert imported.returncode == 0 and "imported 2 entries" in imported.stderr
    again = run_prosa("ask", "--json", "-m", "ok", "--base-url", scripted_upstream.base_url, "first question", env={"OPENAI_API_KEY": "k"})  # fmt: skip
    assert json.loads(again.stdout)["cached"] is True

    assert run_prosa("cache", "prune", "--older-than", "1d").stderr.startswith("deleted 0 entries")
    pruned = run_prosa("cache", "prune", "--older-than", "0s")
    assert "deleted 2 entries" in pruned.stderr

    bad = run_prosa("cache", "prune", "--older-than", "soon")
    assert bad.returncode == 2 and "prosa: --older-than must look like" in bad.stderr
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n")
    bad_import = run_prosa("cache", "import", str(junk))
    assert bad_import.returncode == 2 and f"{junk}:1: not a prosa cache export line" in bad_import.stderr


def test_cache_commands_on_a_corrupt_file_fail_with_one_line(tmp_path):
    db = tmp_path / "bad.db"
    db.write_bytes(b"garbage" * 500)
    out = run_prosa("cache", "--cache", str(db), "stats")
    assert out.returncode == 1
    assert out.stderr.strip().startswith("prosa:") and str(db) in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_langchain_entries_in_the_shared_file_list_export_and_import(prosa_home, tmp_path):
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration

    from prosa.langchain import SQLiteCache

    db = prosa_home / "cache" / "cache.db"
    lc = SQLiteCache(database_path=db)
    lc.update("What is two plus two?", "llm-string", [ChatGeneration(message=AIMessage("Four."))])
    lc.close()
    listed = run_prosa("cache", "list").stdout
    assert "What is two plus two?" in listed
    exported = tmp_path / "lc.jsonl"
    assert run_prosa("cache", "export", "-o", str(exported)).returncode == 0
    run_prosa("cache", "clear")
    imported = run_prosa("cache", "import", str(exported))
    assert imported.returncode == 0, imported.stderr
    again = SQLiteCache(database_path=db)
    assert again.lookup("What is two plus two?", "llm-string")[0].text == "Four."


def test_every_kind_of_entry_is_listed_shown_exported_and_imported(prosa_home, tmp_path):
    """Embeddings (binary) and stored responses too; and `prosa cache` reads LangChain entries
    without importing LangChain."""
    import numpy as np

    from prosa.cache import SQLiteStore
    from prosa.cache.cache import ResponseCache
    from prosa.embeddings.service import encode_vector
    from prosa.responses import store as responses_store

    db = prosa_home / "cache" / "cache.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    cache = ResponseCache(SQLiteStore(db))
    vector = np.linspace(0, 1, 8, dtype=np.float32)
    cache.put("e" * 64, encode_vector(vector, "all-MiniLM-L6-v2", 3, "a sentence to embed"))
    response = {"id": "resp_9", "model": "gpt-4o-mini", "status": "completed", "usage": {"input_tokens": 4, "output_tokens": 1},
                "output": [{"type": "message", "content": [{"type": "output_text", "text": "Kept."}]}]}  # fmt: skip
    responses_store.save(cache, "", response, [{"role": "user", "content": "Keep it"}])
    lc = b'{"v":"lc1","model":"smol","q":"Two plus two?","u":[4,1],"g":[{"t":"ChatGeneration","info":null,"msg":{"type":"ai","content":"Four."}}]}'
    cache.put("c" * 64, lc)
    cache.close()
    before = {info.key: SQLiteStore(db).get(info.key) for info in SQLiteStore(db).scan()}

    rows = {
        row["key"]: row for row in map(json.loads, run_prosa("cache", "list", "--json").stdout.splitlines())
    }
    assert {row["kind"] for row in rows.values()} == {"embedding", "stored-response", "langchain"}
    assert (
        rows["e" * 64]["question"] == "a sentence to embed" and rows["e" * 64]["usage"]["prompt_tokens"] == 3
    )
    shown = run_prosa("cache", "show", "c" * 12)
    assert shown.returncode == 0 and "Four." in shown.stdout and "kind: langchain" in shown.stdout
    stored = json.loads(run_prosa("cache", "show", responses_store._key("", "resp_9"), "--json").stdout)
    assert (stored["text"], stored["question"]) == ("Kept.", "Keep it")

    exported = tmp_path / "all.jsonl"
    out = run_prosa("cache", "export", "-o", str(exported))
    assert out.returncode == 0 and "exported 3 entries" in out.stderr, out.stderr
    assert run_prosa("cache", "clear").returncode == 0
    imported = run_prosa("cache", "import", str(exported))
    assert imported.returncode == 0 and "imported 3 entries" in imported.stderr, imported.stderr
    after = {info.key: SQLiteStore(db).get(info.key) for info in SQLiteStore(db).scan()}
    assert after["e" * 64] == before["e" * 64]  # the vector's very bytes
    assert {k: json.loads(v) for k, v in after.items() if k != "e" * 64} == {
        k: json.loads(v) for k, v in before.items() if k != "e" * 64
    }

    code = (
        "import sys; from prosa.cli.main import main\n"
        "for action in ('list', 'stats'): main(['cache', action])\n"
        "main(['cache', 'show', 'c' * 12]); main(['cache', 'export', '-o', sys.argv[1]])\n"
        "print('langchain_core' in sys.modules, file=sys.stderr)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "again.jsonl")], capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stderr.strip().splitlines()[-1] == "False", run.stderr
