"""The argument parser. Commands are bound lazily: `args.run` imports its module only when called."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

from .usage import Parser

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


class _Sink:
    """Swallows option definitions for commands that were not asked for."""

    def __getattr__(self, name: str) -> Callable[..., _Sink]:
        return lambda *a, **k: self


def _lazy(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(f"prosa.cli.{module}"), func)(args)  # type: ignore[no-any-return]

    return run


def _number(text: str) -> int | float:
    """An int when it looks like one, so errors echo the value as typed ('got 5', not 'got 5.0')."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _cache_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cache")
    g.add_argument(
        "--cache",
        metavar="STORE",
        help="memory, sqlite (default: the file in the user cache dir), a .db PATH, redis://HOST:PORT/DB, or off",
    )
    g.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    g.add_argument(
        "--refresh", action="store_true", help="ask the model again and overwrite the cached answer"
    )
    g.add_argument("--namespace", metavar="NAME", help="cache apart from other namespaces (e.g. an eval run)")
    g.add_argument("--max-age", type=_int, metavar="SECONDS",
                   help="use a cached answer only if at most this old, else ask again and overwrite")  # fmt: skip
    g.add_argument(
        "--ttl", type=_int, metavar="SECONDS", help="the answer stored now expires after this long"
    )
    g.add_argument(
        "--semantic",
        action="store_true",
        help="also answer from the cached answer to a question that means the same (offline embedding model)",
    )


def _model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "-m", "--model", help="local (the embedded SmolLM2), or a model of the OpenAI-compatible server"
    )
    g.add_argument("-s", "--system", help="system prompt: an expertise, or data the answer must rest on")
    g.add_argument("-t", "--temperature", type=_number, help="0 to 2; lower is more predictable")
    g.add_argument("--max-tokens", type=_int, help="longest answer, in tokens (>= 1)")
    g.add_argument("--top-p", type=_number, help="nucleus sampling, greater than 0 and at most 1")
    g.add_argument("--seed", type=_int, help="an integer for repeatable sampling where the model supports it")
    g.add_argument("--stop", action="append", help="stop when this text is generated (repeatable, up to 4)")
    g.add_argument("--presence-penalty", type=_number, help="-2 to 2")
    g.add_argument("--frequency-penalty", type=_number, help="-2 to 2")
    g.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="NAME=VALUE",
        help="any other request field, sent as given and keyed; VALUE is JSON if it parses, else text "
        "(-o tool_choice=required -o n=2 -o logprobs=true -o top_k=40; repeatable)",
    )
    g.add_argument(
        "--tools",
        metavar="FILE",
        help="a JSON file with the tools the model may call (a list, as in the API)",
    )
    g.add_argument(
        "--base-url", help="OpenAI-compatible server URL (default: OPENAI_BASE_URL, config, OpenAI)"
    )
    g.add_argument("--timeout", type=_number, help="seconds to wait for the model server (default 60)")
    o = p.add_argument_group("output")
    o.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="print the answer as it is written (default), or wait and print it whole",
    )
    _cache_options(p)


def _grounding_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("persona and data")
    g.add_argument("-p", "--persona", help="a named system prompt and defaults (prosa personas list)")
    g.add_argument(
        "--data",
        action="append",
        metavar="PATH",
        help="answer from this file: csv, tsv, json, jsonl, md, txt, pdf or SQLite (repeatable)",
    )
    g.add_argument("--table", action="append", help="with a SQLite --data: the table to read (repeatable)")
    g.add_argument("--sql", action="append", help="with a SQLite --data: a read-only query (repeatable)")
    g.add_argument("--kb", action="append", metavar="NAME", help="answer from a knowledge base (repeatable)")
    g.add_argument(
        "--dry-run", action="store_true", help="print the messages that would be sent (JSON); call no model"
    )


def build_parser(version: str, only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, the other commands get no options (building them all costs ~10 ms)."""
    parser = Parser(
        prog="prosa",
        description="Ask LLMs from the shell: the embedded local model offline, or any OpenAI-compatible "
        "server. Answers are cached, so a repeated question costs nothing.",
        epilog="Run `prosa COMMAND --help` for a command's options and examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.command = only  # type: ignore[attr-defined]  # for its usage errors' "see ... --help"
    parser.add_argument("--version", action="version", version=f"prosa {version}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        name: str, help: str, module: str, func: str, epilog: str = "", **kw: Any
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kw,
        )
        p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        p.set_defaults(run=_lazy(module, func))
        return p if only in (None, name) else _Sink()

    ask = command(
        "ask", "Ask one question and print the answer.", "ask", "ask", ASK_EXAMPLES + GROUNDING_EXAMPLES
    )
    ask.add_argument(
        "prompt", nargs="*", help="the question; '-' or none reads stdin (stdin is appended if both)"
    )
    _model_options(ask)
    _grounding_options(ask)
    ask.add_argument(
        "--json", action="store_true", help="print one JSON object: text, model, usage, cached, ..."
    )
    ask.add_argument("--pace", action="store_true", help="replay a cached stream at its original speed")

    chat = command(
        "chat", "Talk with a model; the conversation is kept between turns.", "ask", "chat", CHAT_EXAMPLES
    )
    _model_options(chat)
    _grounding_options(chat)

    embed = command(
        "embed",
        "Embed texts: one JSON vector per line, each cached on its own.",
        "embed",
        "embed",
        'examples:\n  prosa embed "What is an LLM?"                     (the bundled MiniLM, offline)\n'
        "  cat lines.txt | prosa embed                         (one text per line of stdin)\n"
        '  prosa embed -m text-embedding-3-small --dimensions 256 "a" "b"\n'
        '  prosa embed --json "a" | jq .usage',
    )
    embed.add_argument("texts", nargs="*", help="the texts; none or '-' reads one text per line of stdin")
    embed.add_argument("-m", "--model", help="local (alias minilm, the default offline) or an upstream model")
    embed.add_argument("--dimensions", type=_int, help="shorter vectors, where the model supports it")
    embed.add_argument(
        "--base-url", help="OpenAI-compatible server URL (default: OPENAI_BASE_URL, config, OpenAI)"
    )
    embed.add_argument("--json", action="store_true", help="one JSON object: data, model, usage, cached")
    _cache_options(embed)

    models = command("models", "List the models you can use.", "admin", "models")
    models.add_argument("--json", action="store_true", help="print a JSON list")
    models.add_argument("--base-url", help="OpenAI-compatible server to ask for its models")

    keys = command(
        "keys",
        "Store API keys (in a file only you can read).",
        "admin",
        "keys",
        "examples:\n  prosa keys set openai        (prompts; or: echo $KEY | prosa keys set openai)\n"
        "  prosa keys get openai        (shows a masked key)\n  prosa keys remove openai\n  prosa keys path",
    )
    keys.add_argument("action", choices=["set", "get", "remove", "path"])
    keys.add_argument("name", nargs="?", default="openai", help="which key (default: openai)")

    config = command(
        "config",
        "Show the settings in force and where they come from.",
        "admin",
        "config",
        "examples:\n  prosa config show\n  prosa config path",
    )
    config.add_argument("action", choices=["show", "path"])
    config.add_argument("--json", action="store_true", help="print JSON (for show)")

    cache = command("cache", "Inspect and manage the answer cache.", "cache_cmd", "cache", CACHE_EXAMPLES)
    store_help = (
        "memory, sqlite (default: the file in the user cache dir), a .db PATH or redis://HOST:PORT/DB"
    )
    cache.add_argument("--cache", metavar="STORE", help=store_help)
    cs = cache.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        # --cache is accepted after the action too (`prosa cache stats --cache URL`, as the README
        # writes it); SUPPRESS keeps an action's missing --cache from hiding one given before it.
        p = cs.add_parser(name, help=help, description=help)
        p.add_argument("--cache", metavar="STORE", default=argparse.SUPPRESS, help=store_help)
        return p

    stats = action("stats", "hits, misses, tokens and money saved")
    stats.add_argument("--json", action="store_true")
    _namespace_option(stats)
    lst = action("list", "recent entries")
    _namespace_option(lst)
    lst.add_argument("--limit", type=_int, default=20)
    lst.add_argument("--json", action="store_true")
    show = action("show", "one entry, by key or key prefix")
    show.add_argument("key")
    show.add_argument("--json", action="store_true")
    _namespace_option(action("clear", "delete every entry (or one namespace's)"))
    prune = action("prune", "delete entries older than an age")
    prune.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30m, 12h, 7d, 2w")
    export = action("export", "write every entry to stdout (or -o FILE)")
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    export.add_argument("-o", "--output", help="file to write instead of stdout")
    imp = action("import", "read entries written by export ('-' for stdin)")
    imp.add_argument("file")

    personas = command(
        "personas", "Named system prompts with default settings.", "personas", "personas", PERSONAS_EXAMPLES
    )
    ps = personas.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    padd = ps.add_parser("add", help="add or replace a persona")
    padd.add_argument("name")
    padd.add_argument("-s", "--system", help="the system prompt ('-' or none: read stdin)")
    padd.add_argument("-d", "--description", default="", help="one line shown by list")
    padd.add_argument("-m", "--model", help="default model")
    padd.add_argument("-t", "--temperature", type=_number, help="default temperature, 0 to 2")
    padd.add_argument("--max-tokens", type=_int, help="default longest answer, in tokens")
    plist = ps.add_parser("list", help="every persona, built-in and yours")
    plist.add_argument("--json", action="store_true")
    pshow = ps.add_parser("show", help="one persona")
    pshow.add_argument("name")
    pshow.add_argument("--json", action="store_true")
    ps.add_parser("remove", help="delete one of your personas").add_argument("name")

    kb = command("kb", "Knowledge bases: files indexed once, searched per question.", "kb", "kb", KB_EXAMPLES)
    ks = kb.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    kadd = ks.add_parser("add", help="ingest files and directories (changed files replace, unchanged skip)")
    kadd.add_argument("name")
    kadd.add_argument("paths", nargs="+", metavar="PATH")
    kadd.add_argument("--table", action="append", help="for SQLite files: the tables to ingest (default all)")
    kadd.add_argument("--sql", action="append", help="for SQLite files: a read-only query to ingest")
    klist = ks.add_parser("list", help="knowledge bases: files, pieces, size")
    klist.add_argument("--json", action="store_true")
    kfiles = ks.add_parser("files", help="the files in a knowledge base")
    kfiles.add_argument("name")
    kfiles.add_argument("--json", action="store_true")
    ks.add_parser("remove", help="delete a knowledge base").add_argument("name")
    ksearch = ks.add_parser("search", help="the pieces that best match a query, with labels")
    ksearch.add_argument("name")
    ksearch.add_argument("query", nargs="+")
    ksearch.add_argument("--limit", type=_int, default=10)
    ksearch.add_argument("--json", action="store_true")
    serve = command(
        "serve",
        "Run the OpenAI-compatible caching gateway (and its web chat page).",
        "serve",
        "serve",
        SERVE_EXAMPLES,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_int, default=8000, help="port (default 8000)")
    serve.add_argument("--upstream", metavar="URL", help="OpenAI-compatible server for non-local models")
    serve.add_argument(
        "--cache",
        metavar="STORE",
        help="memory, sqlite (default: the CLI's file), a .db PATH, redis://HOST:PORT/DB, or off",
    )
    serve.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help="require this bearer key from clients (repeatable; also PROSA_GATEWAY_KEYS, comma-separated)",
    )
    serve.add_argument(
        "--forward-key",
        action="store_true",
        help="send each caller's bearer key upstream instead of the gateway's own "
        "(gateway access keys then go in an X-Prosa-Key header)",
    )
    _tenant_options(serve)
    serve.add_argument("--workers", type=_int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback bind without access keys"
    )
    serve.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="print one line per request: method, path, status, cache result, milliseconds (default on)",
    )
    serve.add_argument(
        "--max-body",
        type=_int,
        default=1_000_000,
        metavar="BYTES",
        help="largest request body (default 1 MB)",
    )
    serve.add_argument(
        "--responses",
        choices=["auto", "translate", "passthrough"],
        default="auto",
        help="/v1/responses: pass through to an upstream that speaks the Responses API (auto: OpenAI's), "
        "or translate to Chat Completions (every other server, and the local model)",
    )
    gkey = command(
        "gateway-key",
        "Create an access key for `prosa serve --keys FILE` (its digest goes in the file; the key is shown once).",
        "gateway_keys",
        "gateway_key",
        "examples:\n  prosa gateway-key create team-a --keys keys.toml\n"
        "  prosa gateway-key create ci --keys keys.toml --namespace shared --model gpt-4o-mini --rpm 60\n"
        "  prosa gateway-key list --keys keys.toml",
    )
    gks = gkey.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    create = gks.add_parser("create", help="create a key, append its digest to the file, print the key once")
    create.add_argument("name", help="the tenant's name (letters, digits, '.', '_', '-'), shown in metrics")
    create.add_argument("--keys", required=True, metavar="FILE", help="the keys file (created if missing)")
    create.add_argument("--namespace", help="share this cache with the other keys that name it")
    create.add_argument("--model", action="append", help="a model the key may use (repeatable; 'gpt-4o*')")
    create.add_argument("--rpm", type=_int, help="requests per minute (429 with retry-after past it)")
    create.add_argument("--admin", action="store_true", help="may read /metrics and every tenant's stats")
    glist = gks.add_parser("list", help="the keys in a file: names and limits (never the keys)")
    glist.add_argument("--keys", required=True, metavar="FILE")
    return parser


def _namespace_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--namespace", metavar="NAME",
                   help="only this namespace or gateway tenant (and the namespaces inside it: NAME/...)")  # fmt: skip


def _tenant_options(serve: argparse.ArgumentParser) -> None:
    g = serve.add_argument_group("tenants and browsers")
    g.add_argument("--keys", metavar="FILE",
                   help="a keys file (prosa gateway-key create): each key a tenant with its own cache")  # fmt: skip
    g.add_argument(
        "--shared-cache", action="store_true", help="one cache for every key (default: one per tenant)"
    )
    g.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="answer this Host name too (besides loopback names and the bound address; repeatable)")  # fmt: skip
    g.add_argument("--cors-origin", action="append", metavar="ORIGIN",
                   help="let pages from this origin call the gateway (https://app.example.com; repeatable)")  # fmt: skip
