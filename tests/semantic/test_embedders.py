"""Other embedders: an OpenAI-compatible /embeddings endpoint, and any object with the Embedder methods."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from prosa import Client
from prosa.cache import MemoryStore
from prosa.cache.semantic import SemanticPolicy
from prosa.cache.semantic.embed import OpenAIEmbedder
from prosa.config import load_settings


def bag_of_words(text: str, dim: int = 64) -> list[float]:
    v = [0.0] * dim
    for word in text.lower().strip("?.!").split():
        v[sum(map(ord, word)) % dim] += 1.0
    return v


class _Embeddings(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        texts = body["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": bag_of_words(t)} for i, t in enumerate(texts)
        ]
        data.reverse()  # the server may answer in any order; index says which is which
        out = json.dumps({"object": "list", "data": data, "model": body["model"],
                          "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def embeddings_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Embeddings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_embedder_normalises_and_keeps_order(embeddings_server):
    settings = load_settings(openai_base_url=embeddings_server, openai_api_key="sk-e", max_retries=0)
    embedder = OpenAIEmbedder(settings, "fake-embed")
    vectors = embedder.embed(["cats purr", "dogs bark loudly"])
    assert vectors.shape == (2, 64) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    expected = np.asarray(bag_of_words("dogs bark loudly"), dtype=np.float32)
    assert np.allclose(vectors[1], expected / np.linalg.norm(expected))
    assert embedder.name == f"openai:fake-embed@{embeddings_server}"


class WordCounter:
    """A custom embedder: any object with name, embed and count_tokens."""

    name = "test:bag-of-words"

    def embed(self, texts: list[str]) -> np.ndarray:
        v = np.asarray([bag_of_words(t) for t in texts], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_a_custom_embedder_plugs_in(scripted_upstream):
    policy = SemanticPolicy(0.95, embedder=WordCounter())
    c = Client(
        base_url=scripted_upstream.base_url, api_key="sk", max_retries=0, cache=MemoryStore(), semantic=policy
    )
    c.chat("Why do cats purr?", model="echo")
    hit = c.chat("why do cats purr", model="echo")  # the same words: similarity 1
    assert hit.cached == "semantic" and hit.text.endswith("Why do cats purr?")
