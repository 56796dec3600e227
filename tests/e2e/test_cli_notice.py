"""The one-time notice about the embedded model, and the single `prosa:` prefix on stderr."""

from __future__ import annotations

from tests.support import run_prosa

NOTICE = "answering with the embedded SmolLM2-135M"


def test_the_notice_is_shown_once_per_machine(prosa_home):
    first = run_prosa("ask", "--no-cache", "--max-tokens", "4", "-t", "0", "Say hi")
    assert first.returncode == 0, first.stderr
    assert (
        NOTICE in first.stderr and "PROSA_LOCAL_MODEL" in first.stderr and "OPENAI_BASE_URL" in first.stderr
    )
    assert (prosa_home / "cache" / "local-model-notice").is_file()
    again = run_prosa("ask", "--no-cache", "--max-tokens", "4", "-t", "0", "Say hello")
    assert again.returncode == 0 and NOTICE not in again.stderr


def test_no_notice_before_a_validation_error():
    out = run_prosa("ask", "-t", "3", "hi")
    assert out.returncode == 2
    assert out.stderr.splitlines() == ["prosa: temperature must be between 0 and 2 (got 3)"]


def test_no_notice_for_another_gguf_file(tmp_path):
    from prosa.providers.local import bundled_model_path

    # A file the user chose (here a link to the same weights) is not the demo-size default: no notice.
    mine = tmp_path / "my-model.gguf"
    mine.symlink_to(bundled_model_path())
    out = run_prosa(
        "ask", "--no-cache", "-m", "local", "--max-tokens", "4", "hi", env={"PROSA_LOCAL_MODEL": str(mine)}
    )
    assert out.returncode == 0, out.stderr
    assert NOTICE not in out.stderr
