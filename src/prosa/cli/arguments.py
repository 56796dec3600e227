"""Each command's arguments and examples, and the table of commands the parser is built from."""

from __future__ import annotations

import argparse

from .options import (
    cache_options,
    grounding_options,
    integer,
    model_options,
    namespace_option,
    number,
    tenant_options,
)

# Not `from typing import ...`: importing typing costs milliseconds of `prosa --version`.
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only
    from collections.abc import Callable
    from typing import Any

ASK_EXAMPLES = """examples:
  prosa ask "What is an LLM?"
  prosa ask -s "You are a patient teacher." -t 0.2 --max-tokens 150 "Explain tokens"
  echo "Summarise this" | prosa ask -m gpt-4o-mini
  cat notes.txt | prosa ask "List the action items in:"      (stdin is appended to the prompt)
  prosa ask --json "Name a prime number" | jq .text
  prosa ask --no-cache "Roll a die"          prosa ask --refresh "..."   (ask again, overwrite the cache)
"""

CHAT_EXAMPLES = """in the chat:
  /exit (or Ctrl-D) leaves, /reset forgets the conversation, /system TEXT sets the system prompt;
  Ctrl-C stops the answer being written and keeps the conversation.

examples:
  prosa chat
  prosa chat -m local -s "You answer in one sentence."
  printf 'My name is Ada.\\nWhat is my name?\\n' | prosa chat     (one turn per line)
"""

CACHE_EXAMPLES = """examples:
  prosa cache stats                 prosa cache stats --json
  prosa cache list --limit 5        prosa cache show 3f2a9c
  prosa cache prune --older-than 7d prosa cache clear
  prosa cache export > answers.jsonl && prosa cache import answers.jsonl
  prosa cache stats --cache redis://127.0.0.1:6379/0    (every action takes --cache to choose the store)
"""


GROUNDING_EXAMPLES = """
data and personas:
  prosa ask -p analyst --data products.csv "Which product is cheapest?"
  prosa ask --data shop.db --table orders "How many orders in May?"
  prosa ask --data shop.db --sql "SELECT * FROM orders WHERE total > 100" "Who spends most?"
  prosa ask --kb docs "How do I reset my password?"
  prosa ask --dry-run --data manual.pdf "..."     (print the messages that would be sent; no model call)
"""

PERSONAS_EXAMPLES = """examples:
  prosa personas list
  prosa personas add sql-helper --system "You write SQLite queries." -t 0 --max-tokens 300
  prosa personas show analyst           prosa personas remove sql-helper
  prosa ask -p sql-helper "Top 5 customers by revenue"
"""

KB_EXAMPLES = """examples:
  prosa kb add docs ./handbook manual.pdf faq.md      (again later: changed files replace, unchanged skip)
  prosa kb add shop products.csv shop.db
  prosa kb list                 prosa kb search docs "vacation policy"
  prosa ask --kb docs "How many vacation days do I get?"
  prosa kb remove docs
"""

SERVE_EXAMPLES = """examples:
  prosa serve                                   (http://127.0.0.1:8000: the web page and /v1/...)
  prosa serve --upstream https://api.openai.com/v1 --api-key team-secret
  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 prosa serve --port 9000 --workers 2
  prosa gateway-key create team-a --keys keys.toml && prosa serve --keys keys.toml   (a cache per key)
  curl http://127.0.0.1:8000/v1/chat/completions -H 'content-type: application/json' \\
       -d '{"model": "local", "messages": [{"role": "user", "content": "Hi"}]}'
"""

EMBED_EXAMPLES = (
    'examples:\n  prosa embed "What is an LLM?"                     (the bundled MiniLM, offline)\n'
    "  cat lines.txt | prosa embed                         (one text per line of stdin)\n"
    '  prosa embed -m text-embedding-3-small --dimensions 256 "a" "b"\n'
    '  prosa embed --json "a" | jq .usage'
)

KEYS_EXAMPLES = (
    "examples:\n  prosa keys set openai        (prompts; or: echo $KEY | prosa keys set openai)\n"
    "  prosa keys get openai        (shows a masked key)\n  prosa keys remove openai\n  prosa keys path"
)

GATEWAY_KEY_EXAMPLES = (
    "examples:\n  prosa gateway-key create team-a --keys keys.toml\n"
    "  prosa gateway-key create ci --keys keys.toml --namespace shared --model gpt-4o-mini --rpm 60\n"
    "  prosa gateway-key list --keys keys.toml"
)


def ask(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "prompt", nargs="*", help="the question; '-' or none reads stdin (stdin is appended if both)"
    )
    model_options(p)
    grounding_options(p)
    p.add_argument(
        "--json", action="store_true", help="print one JSON object: text, model, usage, cached, ..."
    )
    p.add_argument("--pace", action="store_true", help="replay a cached stream at its original speed")


def chat(p: argparse.ArgumentParser) -> None:
    model_options(p)
    grounding_options(p)


def embed(p: argparse.ArgumentParser) -> None:
    p.add_argument("texts", nargs="*", help="the texts; none or '-' reads one text per line of stdin")
    p.add_argument("-m", "--model", help="local (alias minilm, the default offline) or an upstream model")
    p.add_argument("--dimensions", type=integer, help="shorter vectors, where the model supports it")
    p.add_argument(
        "--base-url", help="OpenAI-compatible server URL (default: OPENAI_BASE_URL, config, OpenAI)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object: data, model, usage, cached")
    cache_options(p)


def models(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--base-url", help="OpenAI-compatible server to ask for its models")


def keys(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["set", "get", "remove", "path"])
    p.add_argument("name", nargs="?", default="openai", help="which key (default: openai)")


def config(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show", "path"])
    p.add_argument("--json", action="store_true", help="print JSON (for show)")


STORE_HELP = "memory, sqlite (default: the file in the user cache dir), a .db PATH or redis://HOST:PORT/DB"


def cache(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", metavar="STORE", help=STORE_HELP)
    actions = p.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        # --cache is accepted after the action too (`prosa cache stats --cache URL`, as the README
        # writes it); SUPPRESS keeps an action's missing --cache from hiding one given before it.
        a = actions.add_parser(name, help=help, description=help)
        a.add_argument("--cache", metavar="STORE", default=argparse.SUPPRESS, help=STORE_HELP)
        return a

    stats = action("stats", "hits, misses, tokens and money saved")
    stats.add_argument("--json", action="store_true")
    namespace_option(stats)
    lst = action("list", "recent entries")
    namespace_option(lst)
    lst.add_argument("--limit", type=integer, default=20)
    lst.add_argument("--json", action="store_true")
    show = action("show", "one entry, by key or key prefix")
    show.add_argument("key")
    show.add_argument("--json", action="store_true")
    namespace_option(action("clear", "delete every entry (or one namespace's)"))
    prune = action("prune", "delete entries older than an age")
    prune.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30m, 12h, 7d, 2w")
    export = action("export", "write every entry to stdout (or -o FILE)")
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    export.add_argument("-o", "--output", help="file to write instead of stdout")
    action("import", "read entries written by export ('-' for stdin)").add_argument("file")


def _action(
    actions: Any, name: str, help: str, *positionals: str, json: bool = False
) -> argparse.ArgumentParser:
    """A command's action (a subparser) with its positional arguments, and --json if it prints."""
    a: argparse.ArgumentParser = actions.add_parser(name, help=help)
    for positional in positionals:
        a.add_argument(positional)
    if json:
        a.add_argument("--json", action="store_true")
    return a


def personas(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    add = actions.add_parser("add", help="add or replace a persona")
    add.add_argument("name")
    add.add_argument("-s", "--system", help="the system prompt ('-' or none: read stdin)")
    add.add_argument("-d", "--description", default="", help="one line shown by list")
    add.add_argument("-m", "--model", help="default model")
    add.add_argument("-t", "--temperature", type=number, help="default temperature, 0 to 2")
    add.add_argument("--max-tokens", type=integer, help="default longest answer, in tokens")
    _action(actions, "list", "every persona, built-in and yours", json=True)
    _action(actions, "show", "one persona", "name", json=True)
    _action(actions, "remove", "delete one of your personas", "name")


def kb(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    add = actions.add_parser(
        "add", help="ingest files and directories (changed files replace, unchanged skip)"
    )
    add.add_argument("name")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--table", action="append", help="for SQLite files: the tables to ingest (default all)")
    add.add_argument("--sql", action="append", help="for SQLite files: a read-only query to ingest")
    _action(actions, "list", "knowledge bases: files, pieces, size", json=True)
    _action(actions, "files", "the files in a knowledge base", "name", json=True)
    _action(actions, "remove", "delete a knowledge base", "name")
    search = _action(actions, "search", "the pieces that best match a query, with labels", "name")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=integer, default=10)
    search.add_argument("--json", action="store_true")


def serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=integer, default=8000, help="port (default 8000)")
    p.add_argument("--upstream", metavar="URL", help="OpenAI-compatible server for non-local models")
    p.add_argument("--cache", metavar="STORE",
                   help="memory, sqlite (default: the CLI's file), a .db PATH, redis://HOST:PORT/DB, or off")  # fmt: skip
    p.add_argument("--api-key", action="append", metavar="KEY",
                   help="require this bearer key from clients (repeatable; also PROSA_GATEWAY_KEYS, comma-separated)")  # fmt: skip
    p.add_argument("--forward-key", action="store_true",
                   help="send each caller's bearer key upstream instead of the gateway's own "
                   "(gateway access keys then go in an X-Prosa-Key header)")  # fmt: skip
    tenant_options(p)
    p.add_argument("--workers", type=integer, default=1, help="worker processes (default 1)")
    p.add_argument("--insecure", action="store_true", help="allow a non-loopback bind without access keys")
    p.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True,
                   help="print one line per request: method, path, status, cache result, milliseconds (default on)")  # fmt: skip
    p.add_argument("--max-body", type=integer, default=1_000_000, metavar="BYTES",
                   help="largest request body (default 1 MB)")  # fmt: skip
    p.add_argument("--responses", choices=["auto", "translate", "passthrough"], default="auto",
                   help="/v1/responses: pass through to an upstream that speaks the Responses API (auto: OpenAI's), "
                   "or translate to Chat Completions (every other server, and the local model)")  # fmt: skip


def gateway_key(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    create = actions.add_parser(
        "create", help="create a key, append its digest to the file, print the key once"
    )
    create.add_argument("name", help="the tenant's name (letters, digits, '.', '_', '-'), shown in metrics")
    create.add_argument("--keys", required=True, metavar="FILE", help="the keys file (created if missing)")
    create.add_argument("--namespace", help="share this cache with the other keys that name it")
    create.add_argument("--model", action="append", help="a model the key may use (repeatable; 'gpt-4o*')")
    create.add_argument("--rpm", type=integer, help="requests per minute (429 with retry-after past it)")
    create.add_argument("--admin", action="store_true", help="may read /metrics and every tenant's stats")
    actions.add_parser("list", help="the keys in a file: names and limits (never the keys)").add_argument(
        "--keys", required=True, metavar="FILE"
    )


# name, help (also the description), the module and function that run it, the epilog, its arguments.
COMMANDS: tuple[tuple[str, str, str, str, str, Callable[[argparse.ArgumentParser], None]], ...] = (
    ("ask", "Ask one question and print the answer.", "ask", "ask", ASK_EXAMPLES + GROUNDING_EXAMPLES, ask),
    ("chat", "Talk with a model; the conversation is kept between turns.", "ask", "chat", CHAT_EXAMPLES, chat),
    ("embed", "Embed texts: one JSON vector per line, each cached on its own.", "embed", "embed", EMBED_EXAMPLES,
     embed),
    ("models", "List the models you can use.", "admin", "models", "", models),
    ("keys", "Store API keys (in a file only you can read).", "admin", "keys", KEYS_EXAMPLES, keys),
    ("config", "Show the settings in force and where they come from.", "admin", "config",
     "examples:\n  prosa config show\n  prosa config path", config),
    ("cache", "Inspect and manage the answer cache.", "cache_cmd", "cache", CACHE_EXAMPLES, cache),
    ("personas", "Named system prompts with default settings.", "personas", "personas", PERSONAS_EXAMPLES,
     personas),
    ("kb", "Knowledge bases: files indexed once, searched per question.", "kb", "kb", KB_EXAMPLES, kb),
    ("serve", "Run the OpenAI-compatible caching gateway (and its web chat page).", "serve", "serve",
     SERVE_EXAMPLES, serve),
    ("gateway-key", "Create an access key for `prosa serve --keys FILE` (its digest goes in the file; the key is "
     "shown once).", "gateway_keys", "gateway_key", GATEWAY_KEY_EXAMPLES, gateway_key),
)  # fmt: skip
