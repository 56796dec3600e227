"""The semantic cache through Client, AsyncClient and the CLI, against the scripted upstream."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from prosa import AsyncClient, Client
from prosa.cache import MemoryStore, SQLiteStore
from prosa.cache.semantic import SemanticPolicy
from prosa.errors import InvalidRequest
from tests.support import run_prosa

Q = "What is the capital of France?"
PARAPHRASE = "Which city is the capital of France?"


@pytest.fixture(autouse=True)
def _model(minilm):
    """Every test here needs the embedding model (skips with the install hint without it)."""


def client(upstream, cache=None, semantic=True, **kw):
    return Client(base_url=upstream.base_url, api_key="sk-k", max_retries=0,
                  cache=MemoryStore() if cache is None else cache, semantic=semantic, **kw)  # fmt: skip


def test_exact_match_comes_first_then_a_paraphrase_is_a_semantic_hit(scripted_upstream):
    c = client(scripted_upstream)
    before = scripted_upstream.count()
    first = c.chat(Q, model="echo", temperature=0)
    exact = c.chat(Q, model="echo", temperature=0)
    para = c.chat(PARAPHRASE, model="echo", temperature=0)
    assert scripted_upstream.count() - before == 1
    assert first.cached is False and exact.cached is True and exact.similarity is None
    assert para.cached == "semantic" and 0.86 <= para.similarity <= 1
    assert para.text == first.text == f"messages=1 roles=user last={Q}"
    assert para.key == first.key  # the entry the answer came from
    assert para.to_dict()["cached"] == "semantic" and para.to_dict()["similarity"] == para.similarity
    assert "similarity" not in exact.to_dict()
    stats = c.cache.stats()
    assert stats["hits"] == 2 and stats["misses"] == 1


def test_a_semantic_hit_replays_a_stream(scripted_upstream):
    c = client(scripted_upstream)
    live = [ch.text for ch in c.chat(Q, model="echo", stream=True)]
    stream = c.chat(PARAPHRASE, model="echo", stream=True)
    assert stream.cached == "semantic"
    assert [ch.text for ch in stream] == live
    assert stream.reply.cached == "semantic" and stream.reply.similarity >= 0.86


@pytest.mark.parametrize(
    "change",
    [
        {"system": "You answer like a pirate."},
        {"temperature": 0.7},
        {"max_tokens": 5},
        {"model": "ok"},
        {"history": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
    ],
    ids=["system", "temperature", "max_tokens", "model", "earlier-turns"],
)
def test_a_paraphrase_in_another_scope_never_hits(scripted_upstream, change):
    c = client(scripted_upstream)
    c.chat(Q, model="echo", temperature=0)
    kw = {"model": "echo", "temperature": 0, **change}
    history = kw.pop("history", [])
    reply = c.chat([*history, {"role": "user", "content": PARAPHRASE}], **kw)
    assert reply.cached is False and reply.text.endswith(PARAPHRASE if kw["model"] == "echo" else "five")
    # Within that other scope, semantic hits work as usual.
    assert c.chat([*history, {"role": "user", "content": Q}], **kw).cached == "semantic"


@pytest.mark.parametrize(
    "near_miss",
    [
        "What is the capital of Germany?",
        "What isn't the capital of France?",
        "What was the capital of France in 1500?",
        "Quelle est la capitale de la France ?",
    ],
)
@pytest.mark.parametrize("verify", [True, False], ids=["pair model", "guards"])
def test_near_misses_are_refused_end_to_end(scripted_upstream, near_miss, verify):
    c = client(scripted_upstream, semantic=SemanticPolicy(verify=verify))
    c.chat(Q, model="echo")
    reply = c.chat(near_miss, model="echo")
    assert reply.cached is False and reply.text.endswith(near_miss)


def test_a_number_in_digits_changed_is_refused_end_to_end(scripted_upstream):
    # The pair model alone serves the first near-miss (0.995 at strict's 0.9): the digits check refuses it.
    c = client(scripted_upstream)
    c.chat("What does error code 0x80070005 mean in Windows Update?", model="echo")
    assert c.chat("windows update fails with 0x80070002, what does it mean", model="echo").cached is False
    paraphrase = "windows update keeps failing with error 0x80070005, what does that mean"
    assert c.chat(paraphrase, model="echo").cached == "semantic"


def test_semantic_is_off_unless_asked(scripted_upstream):
    c = client(scripted_upstream, semantic=False)
    c.chat(Q, model="echo")
    assert c.semantic is None and c.chat(PARAPHRASE, model="echo").cached is False


def test_long_questions_are_never_matched(scripted_upstream):
    c = client(scripted_upstream, semantic=SemanticPolicy(max_question_tokens=5))
    c.chat(Q, model="echo")
    assert c.chat(PARAPHRASE, model="echo").cached is False


def test_refresh_reindexes_and_a_stale_vector_is_a_miss(scripted_upstream, tmp_path):
    store = SQLiteStore(tmp_path / "c.db")
    c = client(scripted_upstream, store)
    first = c.chat(Q, model="echo", refresh=True)
    assert c.chat(PARAPHRASE, model="echo").cached == "semantic"
    store.delete(first.key)  # evicted or pruned: the vector now points at nothing
    again = c.chat(PARAPHRASE, model="echo")
    assert again.cached is False and again.text.endswith(PARAPHRASE)
    assert c.semantic.index.count() == 1  # the stale vector went; the new answer's came


def test_vectors_persist_across_processes(scripted_upstream, tmp_path):
    db = tmp_path / "answers.db"
    first = client(scripted_upstream, SQLiteStore(db)).chat(Q, model="echo", temperature=0)
    code = (
        "import json, sys; from prosa import Client\n"
        f"c = Client(base_url={scripted_upstream.base_url!r}, api_key='sk-k', max_retries=0, cache={str(db)!r}, "
        "semantic=True)\n"
        f"r = c.chat({PARAPHRASE!r}, model='echo', temperature=0)\n"
        "print(json.dumps([r.text, r.cached, r.similarity, 'openai' in sys.modules]))"
    )
    before = scripted_upstream.count()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert scripted_upstream.count() == before  # answered from the file: no model call
    text, cached, similarity, openai_loaded = json.loads(out.stdout)
    assert (text, cached, openai_loaded) == (first.text, "semantic", False) and similarity >= 0.86


def test_async_client_semantic_hit(scripted_upstream):
    async def main():
        c = AsyncClient(base_url=scripted_upstream.base_url, api_key="sk-k", max_retries=0,
                        cache=MemoryStore(), semantic=True)  # fmt: skip
        await c.chat(Q, model="echo")
        whole = await c.chat(PARAPHRASE, model="echo")
        stream = await c.chat(PARAPHRASE, model="echo", stream=True)
        return whole, await stream.collect()

    whole, streamed = asyncio.run(main())
    assert whole.cached == streamed.cached == "semantic" and whole.text == streamed.text


def test_options_are_checked(scripted_upstream):
    with pytest.raises(InvalidRequest, match="semantic needs a cache"):
        client(scripted_upstream, cache="off")
    with pytest.raises(InvalidRequest, match="semantic must be"):
        client(scripted_upstream, semantic="yes")
    with pytest.raises(InvalidRequest, match="threshold"):
        SemanticPolicy(threshold=1.5)


def test_config_file_turns_it_on(scripted_upstream, prosa_home):
    (prosa_home / "config").mkdir(parents=True)
    (prosa_home / "config" / "config.toml").write_text("[cache]\nsemantic = true\nsemantic_threshold = 0.9\n")
    c = Client(base_url=scripted_upstream.base_url, api_key="sk-k", max_retries=0, cache=MemoryStore())
    assert c.semantic is not None and c.semantic.policy.threshold == 0.9
    c.chat(Q, model="echo")
    assert c.chat(PARAPHRASE, model="echo").cached == "semantic"
    assert Client(cache=None).semantic is None  # no cache, nothing to do: not an error from the config


def test_cli_semantic_flag(scripted_upstream, tmp_path):
    common = ["ask", "--json", "--cache", str(tmp_path / "cli.db"), "--base-url", scripted_upstream.base_url,
              "-m", "echo"]  # fmt: skip
    env = {"OPENAI_API_KEY": "sk-k"}
    first = run_prosa(*common, "--semantic", Q, env=env)  # indexed: answers saved with semantic on
    plain = run_prosa(*common, PARAPHRASE, env=env)
    semantic = run_prosa(*common, "--semantic", "Which city is France's capital?", env=env)
    assert first.returncode == plain.returncode == semantic.returncode == 0, semantic.stderr
    assert json.loads(plain.stdout)["cached"] is False  # off without the flag
    out = json.loads(semantic.stdout)
    assert out["cached"] == "semantic" and out["similarity"] >= 0.86 and out["text"].endswith(Q)


def test_a_plain_cache_hit_imports_no_numpy(tmp_path):
    db = tmp_path / "c.db"
    code = (
        "import sys; from prosa import Client; from prosa.cache import SQLiteStore\n"
        f"c = Client(base_url='http://127.0.0.1:9/v1', api_key='sk', max_retries=0, cache={str(db)!r})\n"
        "call = c.prepare('q', 'gpt-4o-mini', {}, False, True)\n"
        "from prosa.reply import Chunk, Usage\n"
        "c.cache.save(call.key, [Chunk('a', 'stop', Usage(1, 1))], 'gpt-4o-mini', 'openai', call.request)\n"
        "assert c.chat('q', model='gpt-4o-mini').cached is True\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'numpy' or 'semantic' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_best_candidate_is_read_alone_then_the_others_in_one_batch(scripted_upstream, monkeypatch):
    from prosa.cache.semantic.verify import Verifier

    c = client(scripted_upstream)
    for q in (
        "How do I lock my screen on a Mac?",
        "How do I lock my screen on Windows?",
        "How do I lock my screen on Ubuntu?",
    ):
        c.chat(q, model="echo", temperature=0)
    reads: list[int] = []
    real = Verifier.verify_many

    def spy(self, a, others):
        reads.append(len(others))
        return real(self, a, others)

    monkeypatch.setattr(Verifier, "verify_many", spy)
    assert c.chat("how do I unlock my screen on a Mac", model="echo", temperature=0).cached is False
    assert reads == [1, 2]  # three candidates, all refused: the best alone, then the other two at once
    reads.clear()
    assert c.chat("How can I lock the screen of my Mac?", model="echo", temperature=0).cached == "semantic"
    assert reads == [1]  # the best candidate was the hit: nothing else is read
