"""The command line: --dry-run, persona and data flags, `prosa personas`, `prosa kb`, and bad input as exit 2."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from prosa.cli.main import main
from prosa.config import config_dir
from tests.grounding.helpers import make_products_csv, make_shop_db
from tests.support import run_prosa


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `prosa ARGS...` in this process; returns (exit code, stdout, stderr)."""

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_dry_run_prints_the_exact_request_and_calls_no_model(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 10_000)
    config_dir().mkdir(parents=True)
    (config_dir() / "config.toml").write_text("[grounding]\nmax_context_tokens = 2000\n")
    # No OpenAI key is configured: a model call would fail, so exit 0 shows that none was made.
    out = run_prosa(
        "ask", "--dry-run", "-m", "gpt-4o-mini", "-p", "analyst", "--data", str(csv), "--max-tokens", "100",
        "What does the Model7342 Gadget cost?",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert set(body) == {"model", "messages", "temperature", "max_tokens"}
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-4o-mini", 0.0, 100)
    system, user = body["messages"]
    assert system["role"] == "system" and system["content"].startswith("You are a careful data analyst.")
    assert "[products.csv:7343] 7342,Model7342 Gadget,65.40,garden" in system["content"]
    assert user == {"role": "user", "content": "What does the Model7342 Gadget cost?"}
    assert "no model was called" in out.stderr and "of 10000 pieces" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{tmp}/missing.csv"], "does not exist"),
        (["--data", "{tmp}/sheet.xlsx"], "unsupported data type .xlsx"),
        (["--data", "{tmp}/ragged.csv"], "line 3 has 1 fields but the header has 2"),
        (["--data", "{tmp}/bad.json"], "is not valid JSON"),
        (["--data", "{tmp}/empty.txt"], "is empty"),
        (["--data", "{tmp}/junk.txt"], "binary file"),
        (["--data", "{tmp}/shop.db", "--sql", "DELETE FROM products"], "opened read-only"),
        (["--data", "{tmp}/shop.db", "--sql", "SELECT nope FROM products"], "SQL error in --sql"),
        (["--data", "{tmp}/shop.db", "--table", "nope"], "has no table 'nope'"),
        (["--table", "products"], "need a SQLite file"),
        (["-p", "nobody"], "unknown persona 'nobody'"),
        (["--kb", "nothing"], "no knowledge base named 'nothing'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path: Path, args: list[str], message: str):
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    (tmp_path / "bad.json").write_text("[1, 2")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "junk.txt").write_bytes(bytes(range(256)) * 4)
    db = make_shop_db(tmp_path / "shop.db")
    # -m gpt-4o-mini with no key: a request that got past the data would fail with exit 1 instead.
    code, out, err = cli("ask", "-m", "gpt-4o-mini", *(a.format(tmp=tmp_path) for a in args), "Question?")
    assert code == 2, err
    assert out == "" and err.startswith("prosa: ") and err.count("\n") == 1 and message in err
    assert sqlite3.connect(db).execute("SELECT count(*) FROM products").fetchone() == (20,)


def test_sqlite_table_and_query_flags(cli, tmp_path: Path):
    db = make_shop_db(tmp_path / "shop.db")
    code, out, _ = cli(
        "ask", "--dry-run", "-m", "gpt-4o-mini", "--data", db, "--table", "orders",
        "--sql", "SELECT name FROM products WHERE id = 3", "How many orders?",
    )  # fmt: skip
    assert code == 0
    system = json.loads(out)["messages"][0]["content"]
    assert (
        "## shop.db:orders (columns: id,product_id,qty)" in system and "[shop.db:orders:10] 10,11,1" in system
    )
    assert "[shop.db:query:1] Model3 Widget" in system


def test_personas_commands(cli):
    code, _, err = cli(
        "personas", "add", "pirate", "-s", "Talk like a pirate.", "-t", "0.9", "--max-tokens", "50"
    )
    assert code == 0 and "added persona pirate" in err
    assert (config_dir() / "personas" / "pirate.toml").is_file()
    code, out, _ = cli("personas", "list")
    assert code == 0 and "pirate" in out and "analyst" in out and "built-in" in out
    code, out, _ = cli("personas", "show", "pirate", "--json")
    assert json.loads(out)["system"] == "Talk like a pirate." and json.loads(out)["max_tokens"] == 50
    code, out, _ = cli("ask", "--dry-run", "-m", "gpt-4o-mini", "-p", "pirate", "-t", "0.1", "Hello")
    body = json.loads(out)
    assert body["temperature"] == 0.1 and body["max_tokens"] == 50  # the flag wins, the default fills in
    assert body["messages"][0] == {"role": "system", "content": "Talk like a pirate."}
    code, _, err = cli("personas", "add", "pirate", stdin="Talk like a parrot.\n")
    assert code == 0 and "replaced persona pirate" in err
    code, _, err = cli("personas", "add", "hot", "-s", "x", "-t", "5")
    assert code == 2 and "temperature must be between 0 and 2" in err
    assert cli("personas", "remove", "pirate")[0] == 0
    assert cli("personas", "remove", "pirate")[0] == 2
    assert cli("personas", "remove", "analyst")[0] == 2


def test_kb_commands(cli, tmp_path: Path):
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "vacation.md").write_text("Everyone gets 25 vacation days a year.\n")
    make_products_csv(folder / "products.csv", 100)
    code, out, _ = cli("kb", "add", "docs", folder)
    assert code == 0 and out.startswith("docs: 2 added, 0 replaced, 0 unchanged (101 pieces")
    code, out, _ = cli("kb", "add", "docs", folder)
    assert "0 added, 0 replaced, 2 unchanged" in out
    code, out, _ = cli("kb", "search", "docs", "vacation", "days")
    assert code == 0 and out.startswith("[handbook/vacation.md:1] (")
    code, out, _ = cli("kb", "search", "docs", "Model42", "--json")
    assert json.loads(out)[0]["label"] == "handbook/products.csv:43"
    code, out, _ = cli("kb", "list", "--json")
    assert [(k["name"], k["files"], k["pieces"]) for k in json.loads(out)] == [("docs", 2, 101)]
    code, out, _ = cli("kb", "files", "docs")
    assert "handbook/products.csv  100 pieces" in out
    code, out, _ = cli("ask", "--dry-run", "-m", "gpt-4o-mini", "--kb", "docs", "How many vacation days?")
    system = json.loads(out)["messages"][0]["content"]
    assert "[handbook/vacation.md:1] Everyone gets 25 vacation days a year." in system
    assert "products.csv" not in system
    assert cli("kb", "remove", "docs")[0] == 0
    code, out, err = cli("kb", "list")
    assert out == "" and "no knowledge bases" in err
    assert cli("kb", "search", "docs", "x")[0] == 2


def test_chat_dry_run_prints_each_turn(cli, tmp_path: Path):
    csv = make_products_csv(tmp_path / "p.csv", 3)
    code, out, _ = cli(
        "chat", "--dry-run", "-m", "gpt-4o-mini", "--data", csv, "-p", "concise", stdin="Hi\nBye\n"
    )
    assert code == 0
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(out)
    second, _ = decoder.raw_decode(out[end:].lstrip())
    assert first["messages"][-1]["content"] == "Hi" and second["messages"][-1]["content"] == "Bye"
    assert first["messages"][0]["content"].startswith("You answer in at most three sentences")
    assert "[p.csv:2]" in first["messages"][0]["content"]


def test_progress_bar_draws_only_on_a_terminal():
    from prosa.cli.kb import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = ProgressBar(screen)
    bar("products.csv", 50, 100, 1234)
    bar.close()
    assert (
        "products.csv" in screen.getvalue()
        and " 50%" in screen.getvalue()
        and "1,234 pieces" in screen.getvalue()
    )
    assert screen.getvalue().endswith("\r")
    pipe = io.StringIO()
    quiet = ProgressBar(pipe)
    quiet("products.csv", 50, 100, 1234)
    quiet.close()
    assert pipe.getvalue() == ""
