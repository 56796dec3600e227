"""The README's examples on the embedded model, as a new user runs them: tokens written and seconds each.

    python bench/readme_examples.py

Every example runs with the settings the README shows (no added max_tokens), in a fresh prosa home
(so every answer is a miss), against the bundled SmolLM2-135M. The command-line examples run as real
`prosa` processes; the token count of each answer is read back from the cache it wrote. The Python
examples (Client, semantic hits, ChatProsa, the gateway through the openai SDK and LangChain's
ChatOpenAI) run in this process. The check of issue 12: none writes more than 600 tokens.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LIMIT = 600

NOTES = """Meeting notes, Monday 3 March.
Present: Bob, Alice, Carol.
Bob will send the updated budget to finance by Friday.
Alice books the venue for the spring workshop.
We agreed to hire a designer; Carol posts the job ad this week.
Next meeting: 17 March.
"""
HANDBOOK = """# Time off
Every employee gets 25 vacation days a year. Unused days expire at the end of March.
# Expenses
Keep receipts for anything over 20 euros.
"""


def make_files(folder: Path) -> None:
    (folder / "notes.txt").write_text(NOTES)
    (folder / "products.csv").write_text("id,name,price\n1,Pen,1.20\n2,Notebook,3.50\n3,Backpack,24.00\n")
    (folder / "handbook").mkdir()
    (folder / "handbook" / "policies.md").write_text(HANDBOOK)
    conn = sqlite3.connect(folder / "shop.db")
    with conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, month TEXT, total REAL)")
        conn.executemany(
            "INSERT INTO orders (customer, month, total) VALUES (?, ?, ?)",
            [("Ada", "May", 120.0), ("Bob", "May", 40.0), ("Ada", "June", 300.0), ("Cy", "April", 90.0)],
        )
    conn.close()


def prosa(folder: Path, env: dict[str, str], command: str, stdin: str = "") -> tuple[int, str, float]:
    """Run a README command line in a shell (pipes included); (tokens of its newest answers, finish, s)."""
    before = {r["key"] for r in _entries(env)}
    start = time.perf_counter()
    subprocess.run(command, shell=True, cwd=folder, env=env, input=stdin, capture_output=True, text=True,
                   check=True, timeout=600)  # fmt: skip
    seconds = time.perf_counter() - start
    new = [_show(env, r["key"]) for r in _entries(env) if r["key"] not in before]
    longest = max(new, key=lambda e: e["usage"]["completion_tokens"])
    return longest["usage"]["completion_tokens"], longest["finish_reason"], seconds


def _entries(env: dict[str, str]) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "prosa.cli.main", "cache", "list", "--json", "--limit", "1000"],
                         env=env, capture_output=True, text=True, check=True)  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines()]


def _show(env: dict[str, str], key: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "prosa.cli.main", "cache", "show", key, "--json"],
                         env=env, capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def timed(call: Callable[[], object]) -> tuple[int, str, float]:
    start = time.perf_counter()
    reply = call()
    seconds = time.perf_counter() - start
    return reply.usage.completion_tokens, reply.finish_reason, seconds  # type: ignore[attr-defined]


def python_examples(home: Path) -> list[tuple[str, Callable[[], tuple[int, str, float]]]]:
    from prosa import Client

    def stream_sky() -> tuple[int, str, float]:
        client = Client(cache=None)
        start = time.perf_counter()
        stream = client.chat([{"role": "system", "content": "You answer in one sentence."},
                              {"role": "user", "content": "Why is the sky blue?"}], stream=True)  # fmt: skip
        for _ in stream:
            pass
        return stream.reply.usage.completion_tokens, stream.reply.finish_reason, time.perf_counter() - start

    def three_colors() -> tuple[int, str, float]:
        import asyncio

        from prosa import AsyncClient

        async def main() -> tuple[int, str, float]:
            start = time.perf_counter()
            stream = await AsyncClient(cache=None).chat("Name three colors.", stream=True)
            async for _ in stream:
                pass
            return (
                stream.reply.usage.completion_tokens,
                stream.reply.finish_reason,
                time.perf_counter() - start,
            )

        return asyncio.run(main())

    def chat_prosa_chain() -> tuple[int, str, float]:
        from langchain_core.prompts import ChatPromptTemplate

        from prosa.langchain import ChatProsa

        model = ChatProsa(model="local", cache_store=None, temperature=0)
        prompt = ChatPromptTemplate.from_messages([("system", "Answer in one word."), ("human", "{q}")])
        start = time.perf_counter()
        message = (prompt | model).invoke({"q": "Capital of Japan?"})
        return (message.usage_metadata["output_tokens"], message.response_metadata["finish_reason"],
                time.perf_counter() - start)  # fmt: skip

    return [
        ('client.chat("What is an LLM?", system=..., temperature=0.2, max_tokens=150)',
         lambda: timed(lambda: Client(cache=None).chat("What is an LLM?", system="You are a patient teacher.",
                                                       temperature=0.2, max_tokens=150))),
        ('client.chat([... "Why is the sky blue?"], stream=True)', stream_sky),
        ('await client.chat("What is 2 + 3?", temperature=0)',
         lambda: timed(lambda: Client(cache=None).chat("What is 2 + 3?", temperature=0))),
        ('await client.chat("Name three colors.", stream=True)', three_colors),
        ('Client(cache="sqlite", semantic=True).chat("What is the capital of Japan?")',
         lambda: timed(lambda: Client(cache=str(home / "semantic.db"), semantic=True)
                       .chat("What is the capital of Japan?"))),
        ('ChatProsa chain: "Capital of Japan?" (temperature 0)', chat_prosa_chain),
    ]  # fmt: skip


def gateway_examples(env: dict[str, str]) -> list[tuple[str, Callable[[], tuple[int, str, float]]]]:
    from tests.servers.gateway_proc import start_gateway

    gw = start_gateway(Path(env["PROSA_CACHE_DIR"]).parent / "gw", "--cache", "memory")

    def sdk_hi() -> tuple[int, str, float]:
        from openai import OpenAI

        client = OpenAI(base_url=gw.base_url, api_key="any")
        start = time.perf_counter()
        r = client.chat.completions.create(model="local", messages=[{"role": "user", "content": "Hi"}])
        return r.usage.completion_tokens, r.choices[0].finish_reason, time.perf_counter() - start

    def chat_openai_stream() -> tuple[int, str, float]:
        from langchain_openai import ChatOpenAI

        llm = ChatOpenAI(base_url=gw.base_url, api_key="any", model="local", stream_usage=True)
        start = time.perf_counter()
        last = None
        for chunk in llm.stream("What is the capital of France?"):
            last = chunk if last is None else last + chunk
        assert last is not None
        return (last.usage_metadata["output_tokens"], last.response_metadata.get("finish_reason", "?"),
                time.perf_counter() - start)  # fmt: skip

    examples = [
        ('OpenAI(base_url=gateway).chat.completions.create(model="local", "Hi")', sdk_hi),
        ('ChatOpenAI(base_url=gateway, model="local").stream("What is the capital of France?")',
         chat_openai_stream),
    ]  # fmt: skip
    return [
        (name, _then_stop(call, gw, last=i == len(examples) - 1)) for i, (name, call) in enumerate(examples)
    ]


def _then_stop(call: Callable[[], tuple[int, str, float]], gw: object, last: bool) -> Callable[[], tuple]:
    def run() -> tuple[int, str, float]:
        try:
            return call()
        finally:
            if last:
                gw.stop()  # type: ignore[attr-defined]

    return run


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="prosa-readme-"))
    make_files(folder)
    home = folder / "home"
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PROSA_MODEL")
    }
    env.update({"PROSA_CONFIG_DIR": str(home / "config"), "PROSA_CACHE_DIR": str(home / "cache"),
                "PROSA_DATA_DIR": str(home / "data"),
                "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"})  # fmt: skip
    os.environ.update({k: env[k] for k in ("PROSA_CONFIG_DIR", "PROSA_CACHE_DIR", "PROSA_DATA_DIR")})
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PROSA_MODEL"):
        os.environ.pop(name, None)
    py = f"{sys.executable} -m prosa.cli.main"
    cli = [
        'prosa ask "What is the capital of Japan?"',
        'prosa ask -s "You are a patient teacher." -t 0.2 --max-tokens 150 "Explain tokens"',
        'echo "Explain recursion" | prosa ask',
        'cat notes.txt | prosa ask "List the action items in:"',
        'prosa ask --json "Name three colors."',
        "printf 'My name is Ada.\\nWhat is my name?\\n' | prosa chat",
        'prosa ask -p analyst --data products.csv "Which product is cheapest?"',
        'prosa ask --data shop.db --table orders "How many orders in May?"',
        'prosa ask --data shop.db --sql "SELECT * FROM orders WHERE total > 100" "Who spends most?"',
        'prosa ask --kb docs "How many vacation days do I get?"',
    ]
    subprocess.run(f"{py} kb add docs handbook", shell=True, cwd=folder, env=env, check=True,
                   capture_output=True)  # fmt: skip
    rows = []
    for command in cli:
        tokens, finish, seconds = prosa(folder, env, command.replace("prosa ", py + " ", 1))
        rows.append((command, tokens, finish, seconds))
    for name, call in python_examples(home) + gateway_examples(env):
        tokens, finish, seconds = call()
        rows.append((name, tokens, finish, seconds))
    print(f"# README examples on the embedded model, default settings, {os.cpu_count()} cores")
    print("| example | tokens | finish | seconds |")
    print("|---|---|---|---|")
    for name, tokens, finish, seconds in rows:
        print(f"| `{name}` | {tokens} | {finish} | {seconds:.1f} |")
    worst = max(r[1] for r in rows)
    print(
        f"\nlongest answer: {worst} tokens ({'within' if worst <= LIMIT else 'OVER'} the {LIMIT}-token check)"
    )


if __name__ == "__main__":
    main()
