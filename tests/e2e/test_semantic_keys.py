"""The semantic cache never saves an answer under another question's key (issue 11's regression): ask Q,
ask a paraphrase P (a semantic hit), let Q's entry expire, ask P (a miss: answer B), ask Q: Q must not be
served B as an exact hit. The `echo` model answers with the question it was asked, so every entry can be
checked against its own question."""

from __future__ import annotations

import json
import sqlite3
import uuid

import httpx
import pytest

from tests.servers.gateway_proc import Gateway, start_gateway

Q = "What is the capital of France?"
P = "Which city is the capital of France?"


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory) -> Gateway:
    home = tmp_path_factory.mktemp("gw-semantic-keys")
    gateway = start_gateway(
        home, "--upstream", scripted_upstream.base_url, env={"OPENAI_API_KEY": "k"},
        config="[cache]\nsemantic = true\n[openai]\nmax_retries = 0\n",
    )  # fmt: skip
    yield gateway
    gateway.stop()


def entries(gw: Gateway) -> list[dict]:
    """Every live entry of the gateway's SQLite cache, decoded."""
    with sqlite3.connect(gw.home / "cache" / "cache.db") as db:
        rows = db.execute("SELECT key, value, expires FROM entries").fetchall()
    return [{"key": k, **json.loads(v), "expires": e} for k, v, e in rows]


def answer_of(entry: dict) -> str:
    return "".join(
        (c.get("delta") or {}).get("content") or ""
        for record in entry["k"]
        for c in record.get("choices") or ()
    )


def expire(gw: Gateway, question: str) -> None:
    with sqlite3.connect(gw.home / "cache" / "cache.db") as db:
        keys = [e["key"] for e in entries(gw) if e["q"] == question]
        assert len(keys) == 1, keys
        db.execute("UPDATE entries SET expires = 1 WHERE key = ?", keys)


def test_an_answer_is_never_saved_under_another_questions_key(gw, scripted_upstream):
    model = "echo"  # a model name of this test's own: its partition holds only these questions
    system = f"Answer briefly. ({uuid.uuid4().hex[:8]})"

    def ask(question: str, stream: bool = False) -> httpx.Response:
        body = {"model": model, "stream": stream,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}]}  # fmt: skip
        r = httpx.post(gw.chat_url, json=body, timeout=60)
        assert r.status_code == 200, r.text
        return r

    def text(r: httpx.Response) -> str:
        return r.json()["choices"][0]["message"]["content"]

    first = ask(Q)
    assert first.headers["x-prosa-cache"] == "miss" and text(first).endswith("last=" + Q)
    para = ask(P)
    assert para.headers["x-prosa-cache"] == "semantic-hit" and text(para) == text(first)
    expire(gw, Q)
    again = ask(P)  # the same body as the semantic hit: the gateway remembers it
    assert again.headers["x-prosa-cache"] == "miss"
    assert text(again).endswith("last=" + P)
    back = ask(Q)
    if back.headers["x-prosa-cache"] == "hit":
        assert text(back).endswith("last=" + Q), "Q served P's answer as an exact hit: saved under Q's key"
    # Whatever was served, every entry holds the answer to its own question.
    for entry in entries(gw):
        if entry["expires"] is None or entry["expires"] > 1:
            assert answer_of(entry).endswith("last=" + entry["q"]), entry["q"]
    streamed = ask(P, stream=True)
    assert streamed.headers["x-prosa-cache"] == "hit"


def test_a_lone_surrogate_with_semantic_hits_on_is_never_a_500(gw):
    for content in ('"a\\ud800b what is the capital?"', '"which \\udc00 is the capital?"'):
        body = '{"model":"echo","messages":[{"role":"user","content":' + content + "}]}"
        for _ in range(2):
            r = httpx.post(
                gw.chat_url, content=body.encode(), headers={"content-type": "application/json"}, timeout=60
            )
            assert r.status_code == 200, r.text


TOOLS = [
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
]


def test_a_paraphrase_under_another_tool_choice_is_never_a_semantic_hit(gw):
    """tool_choice (like every keyed field) partitions semantic hits: 'none' must not get a tool call."""
    system = f"Use tools. ({uuid.uuid4().hex[:8]})"

    def ask(question: str, tool_choice: str) -> httpx.Response:
        body = {"model": "agent", "tools": TOOLS, "tool_choice": tool_choice,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}]}  # fmt: skip
        r = httpx.post(gw.chat_url, json=body, timeout=60)
        assert r.status_code == 200, r.text
        return r

    assert ask(Q, "required").headers["x-prosa-cache"] == "miss"
    same_choice = ask(P, "required")
    assert same_choice.headers["x-prosa-cache"] == "semantic-hit"  # the partition works at all
    other = ask(P, "none")
    assert other.headers["x-prosa-cache"] == "miss"
    assert other.json()["choices"][0]["message"]["content"] == "No tools needed."
