"""Paper cuts a new user hits on the command line, each fixed and kept fixed."""

from __future__ import annotations

import json
import time

from tests.support import free_port, run_prosa


def test_a_misspelt_flag_is_two_lines_with_a_suggestion():
    out = run_prosa("ask", "--temprature", "0.5", "hi")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.splitlines() == [
        "prosa: unrecognized arguments: --temprature; did you mean --temperature?",
        "(see `prosa ask --help`)",
    ]


def test_a_misspelt_command_or_action_gets_a_suggestion():
    out = run_prosa("cache", "stat")
    assert out.returncode == 2
    assert len(out.stderr.splitlines()) == 2 and "did you mean stats?" in out.stderr
    assert "usage:" not in out.stderr


def test_cache_options_go_where_the_readme_writes_them(tmp_path):
    db = tmp_path / "elsewhere.db"
    after = run_prosa("cache", "stats", "--json", "--cache", str(db))
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["url"].endswith(str(db))
    before = run_prosa("cache", "--cache", "memory", "stats", "--json")
    assert before.returncode == 0 and json.loads(before.stdout)["url"] == "memory"
    assert run_prosa("cache", "list", "--cache", "memory").returncode == 0


def test_piped_chat_exits_1_when_a_turn_failed():
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = run_prosa(
        "chat", "-m", "gpt-4o-mini", "--base-url", url, input="hello\n", env={"OPENAI_API_KEY": "sk-x"}
    )
    assert out.returncode == 1
    assert out.stderr.strip() == f"prosa: cannot reach {url}: connection refused"


def test_piped_chat_help_and_success_exit_0(scripted_upstream):
    out = run_prosa("chat", "-m", "echo", "--base-url", scripted_upstream.base_url, input="/help\nhi\n")
    assert out.returncode == 0, out.stderr
    assert "/reset to start over" in out.stderr and "last=hi" in out.stdout


def test_a_cut_answer_says_so_outside_json():
    out = run_prosa("ask", "--no-cache", "-m", "local", "--max-tokens", "3", "Write a story about a cat.")
    assert out.returncode == 0, out.stderr
    assert "prosa: the answer was cut at 3 tokens" in out.stderr and "--max-tokens" in out.stderr
    whole = run_prosa(
        "ask", "--no-cache", "-m", "local", "-t", "0", "--max-tokens", "50", "What is the capital of Japan?"
    )
    assert "was cut" not in whole.stderr


def test_cache_import_keeps_the_created_time_so_prune_still_works(scripted_upstream, tmp_path):
    ask = ["ask", "-m", "ok", "--base-url", scripted_upstream.base_url, "--no-stream"]
    assert run_prosa(*ask, "an old question", env={"OPENAI_API_KEY": "k"}).returncode == 0
    assert run_prosa(*ask, "a new question", env={"OPENAI_API_KEY": "k"}).returncode == 0
    lines = [json.loads(line) for line in run_prosa("cache", "export").stdout.splitlines()]
    ten_days_ago = time.time() - 10 * 86400
    for record in lines:
        if record["entry"].get("q", json.dumps(record["entry"])).find("an old question") != -1:
            record["created"] = ten_days_ago
    assert sum(r["created"] == ten_days_ago for r in lines) == 1
    exported = tmp_path / "answers.jsonl"
    exported.write_text("".join(json.dumps(r) + "\n" for r in lines))
    run_prosa("cache", "clear")
    assert run_prosa("cache", "import", str(exported)).returncode == 0
    listed = [json.loads(line) for line in run_prosa("cache", "list", "--json").stdout.splitlines()]
    assert sorted(round(r["created"]) for r in listed)[0] == round(ten_days_ago)
    pruned = run_prosa("cache", "prune", "--older-than", "7d")
    assert "deleted 1 entry" in pruned.stderr
    left = [json.loads(line)["question"] for line in run_prosa("cache", "list", "--json").stdout.splitlines()]
    assert left == ["a new question"]


def test_a_cache_file_in_a_missing_directory_is_refused_not_created(tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    # Like any cache fault, it does not stop the answer: one warning, and no directory tree made.
    out = run_prosa("ask", "--cache", str(missing / "x.db"), "--max-tokens", "3", "hi")
    assert out.returncode == 0, out.stderr
    assert (
        f"prosa: cache directory {missing} does not exist; create it first or choose another cache file "
        "(answering without the cache)"
    ) in out.stderr.splitlines()
    assert not (tmp_path / "no").exists()
    stats = run_prosa("cache", "stats", "--cache", str(missing / "x.db"))
    assert stats.returncode == 1 and len(stats.stderr.splitlines()) == 1
    assert not (tmp_path / "no").exists()


def test_config_show_says_where_each_setting_comes_from(prosa_home):
    (prosa_home / "config").mkdir(parents=True)
    (prosa_home / "config" / "config.toml").write_text("[local]\nmax_tokens = 300\n")
    out = run_prosa("config", "show", env={"PROSA_MODEL": "local"})
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if not line.startswith(" ")}
    assert rows["default_model"].split()[1:] == ["local", "environment", "(PROSA_MODEL)"]
    assert rows["local_max_tokens"].split()[1:] == ["300", "config", "file", "(local.max_tokens)"]
    assert rows["cache"].split()[1] == "sqlite" and "default" in rows["cache"]  # the real default, not None
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in rows["local_model_path"]
    assert rows["cache_semantic"].split()[1] == "false"
    assert "None" not in out.stdout and "{" not in out.stdout and "True" not in out.stdout
    shown = json.loads(run_prosa("config", "show", "--json").stdout)
    assert shown["settings"]["local_max_tokens"] == {"value": 300, "source": "config file (local.max_tokens)"}
