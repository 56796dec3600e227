"""`prosa ask` with tools and any other request field (-o NAME=VALUE), against the scripted tool-calling model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import run_prosa

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


def ask(upstream, tmp_path: Path, *args: str):
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps(TOOLS))
    db = tmp_path / "cache.db"
    return run_prosa(
        "ask", "-m", "agent", "--base-url", upstream.base_url, "--cache", str(db), "--tools", str(tools), *args,
        env={"OPENAI_API_KEY": "k"},
    )  # fmt: skip


def test_tool_calls_are_printed_streamed_and_whole_and_cached(scripted_upstream, tmp_path):
    before = scripted_upstream.count()
    streamed = ask(scripted_upstream, tmp_path, "weather in Paris")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == '[tool call call_1] lookup({"query": "weather in Paris"})\n'
    whole = ask(scripted_upstream, tmp_path, "--no-stream", "weather in Paris")
    assert whole.stdout == streamed.stdout
    data = json.loads(ask(scripted_upstream, tmp_path, "--json", "weather in Paris").stdout)
    assert data["cached"] is True and data["finish_reason"] == "tool_calls"
    assert data["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"query": "weather in Paris"}'},
        }
    ]
    assert scripted_upstream.count() - before == 1  # one upstream call, then hits


def test_options_reach_the_request_and_the_key(scripted_upstream, tmp_path):
    none = ask(scripted_upstream, tmp_path, "-o", "tool_choice=none", "weather in Paris")
    assert none.returncode == 0, none.stderr
    assert none.stdout == "No tools needed.\n"  # not the cached tool call of the same question
    assert scripted_upstream.last()["tool_choice"] == "none"
    ask(scripted_upstream, tmp_path, "-o", "top_k=40", "-o", 'chat_template_kwargs={"x": 1}', "q")
    sent = scripted_upstream.last()
    assert sent["top_k"] == 40 and sent["chat_template_kwargs"] == {"x": 1}


def test_bad_options_are_one_line_errors(scripted_upstream, tmp_path):
    out = ask(scripted_upstream, tmp_path, "-o", "n=true", "q")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
    assert "n must be an integer from 1 to 128 (got True)" in out.stderr
    out = ask(scripted_upstream, tmp_path, "-o", "oops", "q")
    assert out.returncode == 2 and "-o takes NAME=VALUE" in out.stderr
    out = run_prosa("ask", "--tools", str(tmp_path / "missing.json"), "q")
    assert out.returncode == 2 and "cannot read --tools" in out.stderr
