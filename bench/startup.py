"""Start-up time of the CLI vs bare Python, with the same interpreter (median of several runs).

Target: `prosa --version` <= 4x `python -c pass`.
Run: python bench/startup.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import BIN, PYTHON, row, wall_ms  # noqa: E402


def main() -> None:
    prosa = str(BIN / "prosa")
    env = {"PROSA_CONFIG_DIR": "/nonexistent-prosa-bench"}
    bare = wall_ms([PYTHON, "-c", "pass"])
    version = wall_ms([prosa, "--version"], env=env)
    ask_help = wall_ms([prosa, "ask", "--help"], env=env)
    print(f"startup (median of 15 runs, {os.cpu_count()} cores, {PYTHON})")
    row("python -c pass (the floor)", bare, "ms")
    row("prosa --version", version, "ms", version / bare, "of bare python", "target <= 4x")
    row("prosa ask --help", ask_help, "ms", ask_help / bare, "of bare python")
    llm = BIN / "llm"
    if llm.exists():
        peer = wall_ms([str(llm), "--version"], runs=5)
        row("peer: llm --version", peer, "ms", peer / bare, "of bare python")


if __name__ == "__main__":
    main()
