"""The README's Python examples that need an upstream run for real, against the scripted tool-calling model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_block_after(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_tool_loop_example_runs_and_its_rerun_is_served_from_the_cache(scripted_upstream, tmp_path):
    code = python_block_after("### Tool calling")
    # The same loop twice in one process: the second run must not reach the model.
    script = tmp_path / "loop.py"
    script.write_text(
        code
        + "\nfirst = reply.text\n"
        + "messages = [{'role': 'user', 'content': 'What is the weather in Paris?'}]\n"
        + "reply = client.chat(messages, tools=tools)\nassert reply.cached is True and reply.tool_calls\n"
    )
    env = {**os.environ, "OPENAI_BASE_URL": scripted_upstream.base_url, "OPENAI_API_KEY": "k", "PROSA_MODEL": "agent",
           }  # fmt: skip
    before = scripted_upstream.count()
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Tool said: 18 C and sunny in Paris\n"
    assert scripted_upstream.count() - before == 2  # the call, then the answer; the rerun's first step hit
