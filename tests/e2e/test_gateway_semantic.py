"""The gateway with `[cache] semantic = true`: a paraphrase is a semantic hit, reported in a header."""

from __future__ import annotations

import httpx

from prosa.cache.semantic.verify import STRICTNESS
from tests.servers.gateway_proc import start_gateway


def test_paraphrase_is_a_semantic_hit_with_its_score(tmp_path, scripted_upstream):
    gw = start_gateway(
        tmp_path / "gw",
        "--upstream",
        scripted_upstream.base_url,
        env={"OPENAI_API_KEY": "k"},
        config="[cache]\nsemantic = true\n",
    )
    try:

        def ask(text: str, stream: bool = False) -> httpx.Response:
            body = {"model": "ok", "messages": [{"role": "user", "content": text}], "stream": stream}
            return httpx.post(gw.chat_url, json=body, timeout=60)

        before = scripted_upstream.count()
        assert ask("What is the capital of France?").headers["x-prosa-cache"] == "miss"
        para = ask("Which city is the capital of France?")
        assert para.headers["x-prosa-cache"] == "semantic-hit"
        assert 0.5 < float(para.headers["x-prosa-similarity"]) <= 1.0
        score = float(para.headers["x-prosa-semantic-score"])  # the pair model's probability
        assert STRICTNESS["strict"] <= score <= 1.0  # at least the default (strict) bar
        streamed = ask("Which city is the capital of France?", stream=True)
        assert streamed.headers["x-prosa-cache"] == "semantic-hit"
        assert streamed.headers["x-prosa-semantic-score"] == para.headers["x-prosa-semantic-score"]
        other = ask("What is the capital of Germany?")  # another entity: the verifier refuses it
        assert other.headers["x-prosa-cache"] == "miss" and "x-prosa-semantic-score" not in other.headers
        assert ask("Why do cats chase dogs?").headers["x-prosa-cache"] == "miss"
        role = ask("Why do dogs chase cats?")  # who chases whom: the verifier refuses it
        assert role.headers["x-prosa-cache"] == "miss"
        assert scripted_upstream.count() - before == 4
    finally:
        gw.stop()
