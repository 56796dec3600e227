"""Safe generation on the embedded model: a default answer length, the loop guard, broken model files."""

from __future__ import annotations

import json

import pytest

from prosa import Client
from prosa.errors import ConfigError
from prosa.providers.local import DEFAULT_MAX_TOKENS, LocalProvider, bundled_model_path
from prosa.providers.loop_guard import LoopGuard
from tests.support import run_prosa


def _trips_at(text: str, step: int = 3) -> int | None:
    """Where the guard trips when text arrives in pieces of `step` characters (None: never)."""
    guard = LoopGuard()
    for i in range(0, len(text), step):
        if guard.feed(text[i : i + step]):
            return i
    return None


@pytest.mark.parametrize(
    "text",
    [
        "the " * 40,
        "Paris is the capital of France. " * 5,
        "1. Buy milk\n2. Buy milk\n3. Buy milk\n4. Buy",
        "- Call Bob about it\n- Call Bob about it\n- Call Bob about it\n",
    ],
)
def test_loop_guard_catches_repetition(text):
    at = _trips_at(text)
    assert at is not None and at < len(text)


@pytest.mark.parametrize(
    "text",
    [
        "Here are the action items:\n1. Call Bob about the budget\n2. Send the report to Alice\n"
        "3. Book the room for Friday\n",
        "ha ha ha ha",
        "def f():\n    return None\n\ndef g():\n    return None\n",
        "Item 1: 10 units\nItem 2: 20 units\nItem 3: 30 units\nItem 4: 40 units\n",
        "Results\n" + "=" * 80 + "\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        "In the morning the sea is calm. By noon the wind rises, and at night the waves are loud. "
        "The fishermen know this rhythm and plan their days around it, year after year.",
    ],
)
def test_loop_guard_leaves_ordinary_answers_alone(text):
    assert _trips_at(text) is None


def test_a_looping_answer_is_cut_with_finish_reason_length():
    # A schema makes the real model write "yes yes yes ..." whatever the CPU's arithmetic (an unconstrained
    # prompt loops on one machine and not on another); without the guard it writes all 300 tokens.
    schema = {"type": "string", "pattern": "^(yes ){200}$"}
    reply = Client("local", cache=None).chat(
        "Say yes many times.",
        max_tokens=300,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "yeses", "schema": schema}},
    )
    assert reply.finish_reason == "length"
    assert reply.usage.completion_tokens < 100
    assert reply.text.count("yes") >= 10


def test_the_local_model_follows_a_json_schema():
    # OpenAI's json_schema form reaches llama.cpp as a grammar (it used to be accepted and ignored).
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "enum": ["Paris", "Rome"]}},
        "required": ["city"],
    }
    reply = Client("local", cache=None).chat(
        "What is the capital of France?",
        max_tokens=40,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
    )
    assert json.loads(reply.text)["city"] in {"Paris", "Rome"}


def test_default_max_tokens_comes_from_the_config_file(prosa_home):
    (prosa_home / "config").mkdir(parents=True)
    (prosa_home / "config" / "config.toml").write_text("[local]\nmax_tokens = 16\n")
    reply = Client("local", cache=None).chat("Write a long story about a dragon and a knight.", temperature=0)
    assert reply.finish_reason == "length"
    assert reply.usage.completion_tokens == 16
    # An explicit max_tokens still wins over the default.
    longer = Client("local", cache=None).chat(
        "Write a long story about a dragon and a knight.", max_tokens=40
    )
    assert longer.usage.completion_tokens > 16


def test_the_generation_defaults_are_part_of_the_cache_identity():
    a = LocalProvider(str(bundled_model_path()))
    b = LocalProvider(str(bundled_model_path()), max_tokens=100)
    assert a.max_tokens == DEFAULT_MAX_TOKENS == 512
    assert a.identity != b.identity


def test_a_file_that_is_not_gguf_is_one_clear_error(monkeypatch, tmp_path):
    bad = tmp_path / "notes.gguf"
    bad.write_text("this is not a model\n")
    monkeypatch.setenv("PROSA_LOCAL_MODEL", str(bad))
    with pytest.raises(ConfigError, match="is not a GGUF file"):
        Client(cache=None).chat("hi", model="local")


def test_a_truncated_gguf_is_one_line_in_the_cli(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(bundled_model_path().read_bytes()[:200_000])
    out = run_prosa("ask", "-m", "local", "hi", env={"PROSA_LOCAL_MODEL": str(broken)})
    assert out.returncode == 2  # a configuration error, like a missing file
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"prosa: cannot load local model file {broken}")
    assert "Exception ignored" not in out.stderr and "Traceback" not in out.stderr
