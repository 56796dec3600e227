"""End-to-end plumbing with the real embedded model: its own tokenizer sizes the context, and it answers."""

from __future__ import annotations

from pathlib import Path

from prosa import Client
from prosa.config import config_dir
from prosa.grounding import ground
from tests.grounding.helpers import make_products_csv, product_name
from tests.support import run_prosa


def test_local_model_answers_from_data_within_its_window(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 3000)  # far more than fits
    # A 320-token cap keeps the prompt small: a full 4096-token prompt takes minutes on a busy 2-core box.
    config_dir().mkdir(parents=True)
    (config_dir() / "config.toml").write_text("[grounding]\nmax_context_tokens = 320\n")
    client = Client(model="local", cache="memory")
    question = f"What is the price of the {product_name(2042)}?"
    request, report = ground(client, question, None, {"max_tokens": 8}, data=[csv])
    assert report.tokenizer == "gguf" and report.window == 320
    assert f"[products.csv:2043] 2042,{product_name(2042)}," in request.messages[0].content
    # The provider's own count of the formatted prompt (chat template included) fits beside max_tokens.
    assert client.provider_for("local").prompt_tokens(request) + 8 <= 320

    reply = client.chat(question, data=[csv], max_tokens=8, temperature=0)
    assert reply.text.strip() and not reply.cached
    assert reply.usage.prompt_tokens + 8 <= 320
    again = client.chat(question, data=[csv], max_tokens=8, temperature=0)
    assert again.cached and again.text == reply.text


def test_cli_ask_with_data_and_persona_on_the_local_model(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 5)
    out = run_prosa(
        "ask", "-m", "local", "-p", "concise", "--data", str(csv), "--max-tokens", "8", "-t", "0", "Cheapest product?"
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() and "Traceback" not in out.stderr
