"""The `prosa` command in a real subprocess: local model, stdin, --json, errors and exit codes, chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import UPSTREAM_KEY, free_port, run_prosa


def test_version_and_help():
    out = run_prosa("--version")
    assert out.returncode == 0 and out.stdout.startswith("prosa ")
    for cmd in ("ask", "chat", "models", "keys", "config", "cache"):
        h = run_prosa(cmd, "--help")
        assert h.returncode == 0, h.stderr
        assert "usage: prosa " + cmd in h.stdout
    assert "examples:" in run_prosa("ask", "--help").stdout


def test_ask_local_model_streams_to_stdout():
    out = run_prosa("ask", "-m", "local", "--max-tokens", "12", "-t", "0", "What is an LLM?")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    assert out.stdout.endswith("\n")
    assert "Traceback" not in out.stderr


def test_ask_json_shape():
    out = run_prosa("ask", "--json", "--max-tokens", "6", "-t", "0", "Say hi")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)  # exactly one JSON object and nothing else
    assert set(data) == {"text", "model", "provider", "finish_reason", "cached", "usage", "latency_ms"}
    assert set(data["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert data["provider"] == "local" and data["cached"] is False
    assert "answering with the embedded SmolLM2-135M" in out.stderr


def test_prompt_from_stdin_and_dash_and_appended(scripted_upstream):
    base = ["ask", "-m", "echo", "--base-url", scripted_upstream.base_url, "--no-cache", "--no-stream"]
    only_stdin = run_prosa(*base, input="from stdin\n")
    assert only_stdin.stdout.strip().endswith("last=from stdin"), only_stdin.stderr
    dash = run_prosa(*base, "-", input="dash input\n")
    assert dash.stdout.strip().endswith("last=dash input")
    both = run_prosa(*base, "Summarise:", input="the text\n")
    assert both.stdout.strip().endswith("last=Summarise:\n\nthe text")


def test_no_prompt_at_all_is_usage_error():
    out = run_prosa("ask", input="")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("prosa: no question given")


def test_invalid_parameter_exits_2_with_one_line():
    out = run_prosa("ask", "-t", "5", "hi")
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.startswith("prosa:")]
    assert lines == ["prosa: temperature must be between 0 and 2 (got 5)"]
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_unreachable_server_exits_1():
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = run_prosa("ask", "-m", "gpt-4o-mini", "--base-url", url, "hi", env={"OPENAI_API_KEY": "sk-x"})
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == f"prosa: cannot reach {url}: connection refused"


def test_missing_key_exits_1():
    out = run_prosa("ask", "-m", "gpt-4o-mini", "hi")
    assert out.returncode == 1
    assert "prosa: no OpenAI API key" in out.stderr and "Traceback" not in out.stderr


def test_rejected_key_exits_1_and_never_prints_the_key(llama_upstream):
    secret = "sk-this-is-secret-9f8e7d6c5b4a"
    out = run_prosa(
        "ask", "-m", "smol", "--base-url", llama_upstream.base_url, "hi", env={"OPENAI_API_KEY": secret}
    )
    assert out.returncode == 1
    assert "rejected the API key" in out.stderr
    assert secret not in out.stderr + out.stdout


def test_openai_provider_through_cli(llama_upstream):
    out = run_prosa(
        "ask", "-m", "smol", "--base-url", llama_upstream.base_url, "--max-tokens", "5", "--json", "Hi",
        env={"OPENAI_API_KEY": UPSTREAM_KEY},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["provider"] == "openai" and data["model"] == "smol" and data["text"]


def test_stream_reaches_the_reader_before_the_answer_is_complete(scripted_upstream):
    """Read the CLI's stdout as it is written: the first words arrive while the upstream is still sending."""
    env = {**os.environ}
    exe = Path(sys.executable).parent / "prosa"
    proc = subprocess.Popen(
        [str(exe), "ask", "-m", "drip", "--base-url", scripted_upstream.base_url, "--no-cache", "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**env, "OPENAI_API_KEY": "k"},
    )
    completed_before = scripted_upstream.counts()["completed"]
    first = proc.stdout.read(3)
    assert first == b" w0"
    assert scripted_upstream.counts()["completed"] == completed_before  # upstream has not finished yet
    rest = proc.stdout.read().decode()
    assert proc.wait(30) == 0
    assert rest.strip().endswith("w19")


def test_chat_keeps_history_over_piped_stdin(scripted_upstream):
    out = run_prosa(
        "chat", "-m", "echo", "--base-url", scripted_upstream.base_url, "--no-cache", "-s", "be brief",
        input="My name is Ada.\nWhat is my name?\n/reset\nAnd now?\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "messages=2 roles=system,user last=My name is Ada."
    assert lines[1] == "messages=4 roles=system,user,assistant,user last=What is my name?"
    assert lines[2] == "messages=2 roles=system,user last=And now?"


def test_chat_with_local_model():
    out = run_prosa("chat", "--max-tokens", "8", "-t", "0", input="Hello!\nHow are you?\n/exit\nignored\n")
    assert out.returncode == 0, out.stderr
    assert len([line for line in out.stdout.splitlines() if line.strip()]) == 2


def test_keys_set_get_remove_never_show_the_secret():
    secret = "sk-proj-abcdefghijklmnop1234"
    out = run_prosa("keys", "set", "openai", input=secret + "\n")
    assert out.returncode == 0 and secret not in out.stdout + out.stderr
    path = Path(run_prosa("keys", "path").stdout.strip())
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    got = run_prosa("keys", "get", "openai")
    assert got.stdout.strip() == "sk-...1234"
    shown = run_prosa("config", "show")
    assert secret not in shown.stdout and "sk-...1234" in shown.stdout
    assert run_prosa("keys", "remove", "openai").returncode == 0
    assert run_prosa("keys", "get", "openai").returncode == 1


def test_models_lists_local_and_server_models(scripted_upstream):
    out = run_prosa("models", "--base-url", scripted_upstream.base_url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["local", "ok"]
    assert run_prosa("models").stdout.split() == ["local"]
