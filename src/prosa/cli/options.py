"""Argument value types and the option groups several commands share (cache, model, data, tenants)."""

from __future__ import annotations

import argparse


def number(text: str) -> int | float:
    """An int when it looks like one, so errors echo the value as typed ('got 5', not 'got 5.0')."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def cache_options(p: argparse.ArgumentParser) -> None:
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
    g.add_argument("--max-age", type=integer, metavar="SECONDS",
                   help="use a cached answer only if at most this old, else ask again and overwrite")  # fmt: skip
    g.add_argument(
        "--ttl", type=integer, metavar="SECONDS", help="the answer stored now expires after this long"
    )
    g.add_argument(
        "--semantic",
        action="store_true",
        help="also answer from the cached answer to a question that means the same (offline embedding model)",
    )


def model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "-m", "--model", help="local (the embedded SmolLM2), or a model of the OpenAI-compatible server"
    )
    g.add_argument("-s", "--system", help="system prompt: an expertise, or data the answer must rest on")
    g.add_argument("-t", "--temperature", type=number, help="0 to 2; lower is more predictable")
    g.add_argument("--max-tokens", type=integer, help="longest answer, in tokens (>= 1)")
    g.add_argument("--top-p", type=number, help="nucleus sampling, greater than 0 and at most 1")
    g.add_argument(
        "--seed", type=integer, help="an integer for repeatable sampling where the model supports it"
    )
    g.add_argument("--stop", action="append", help="stop when this text is generated (repeatable, up to 4)")
    g.add_argument("--presence-penalty", type=number, help="-2 to 2")
    g.add_argument("--frequency-penalty", type=number, help="-2 to 2")
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
    g.add_argument("--timeout", type=number, help="seconds to wait for the model server (default 60)")
    o = p.add_argument_group("output")
    o.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="print the answer as it is written (default), or wait and print it whole",
    )
    cache_options(p)


def grounding_options(p: argparse.ArgumentParser) -> None:
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


def namespace_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--namespace", metavar="NAME",
                   help="only this namespace or gateway tenant (and the namespaces inside it: NAME/...)")  # fmt: skip


def tenant_options(serve: argparse.ArgumentParser) -> None:
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
