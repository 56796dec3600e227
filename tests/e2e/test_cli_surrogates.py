"""`prosa ask` printing upstream answers that hold lone surrogates (a broken upstream, or one that cuts a UTF-16
surrogate pair across two chunks): the answer is printed, never a UnicodeEncodeError."""

from __future__ import annotations

import pytest

from tests.support import run_prosa


@pytest.mark.parametrize("mode", ["--stream", "--no-stream", "--json"])
@pytest.mark.parametrize("name", ["surrogate", "split_pair"])
def test_ask_prints_an_answer_with_lone_surrogates(scripted_upstream, name, mode):
    out = run_prosa(
        "ask", "-m", f"replay:{name}", "--base-url", scripted_upstream.base_url, "--no-cache", mode, "hi"
    )
    assert out.returncode == 0, out.stderr
    assert "UnicodeEncodeError" not in out.stderr
    if name == "surrogate":
        assert "broken" in out.stdout and "emoji" in out.stdout
    else:
        assert "Hi" in out.stdout and "!" in out.stdout


def test_ask_prints_a_plain_answer(scripted_upstream):
    """The control: the same command on a recording without surrogates."""
    out = run_prosa("ask", "-m", "replay:text", "--base-url", scripted_upstream.base_url, "--no-cache", "hi")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hi, how are you?\n"
