"""The verifier: words the two questions do not share must align by their own MiniLM embeddings.

The pairs here come from the development sets; the frozen set is only ever scored, never used to
write a test.
"""

from __future__ import annotations

import pytest

from prosa import Client
from prosa.cache import MemoryStore
from prosa.cache.semantic import SemanticPolicy
from prosa.cache.semantic.verify import STRICTNESS, Verifier, answer_type, bar_of, content_words
from prosa.errors import InvalidRequest


@pytest.fixture(scope="module")
def verifier(minilm):
    return Verifier(minilm, "balanced")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is the capital of France?", "Which city is the capital of France?"),  # the answer's kind
        ("What is blockchain?", "Can you explain what blockchain is?"),  # a request frame
        ("How do I make pancakes?", "What's the best way to make pancakes?"),  # "how" said two ways
        ("What is Docker used for?", "What do people use Docker for?"),  # forms of one word
        ("What makes cats purr?", "Why do cats purr?"),  # "what makes" asks why
        ("When did the Berlin Wall fall?", "In what year did the Berlin Wall fall?"),
        ("What is the largest ocean on Earth?", "Which ocean is the largest on Earth?"),  # words move
    ],
)
def test_paraphrases_are_verified(verifier, a, b):
    for x, y in ((a, b), (b, a)):
        verdict = verifier.verify(x, y)
        assert verdict.verified and verdict.score == 1.0, verdict


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ("How do I show hidden files on a Mac?", "How do I hide hidden files on a Mac?", "antonym"),  # WordNet
        ("How do I delete all containers in Docker?", "How do I delete stopped containers in Docker?",
         "alignment"),
        ("Must I register to vote?", "Can I register to vote?", "alignment"),
        ("Did it snow in London last year?", "Will it snow in London this year?", "alignment"),
        ("Why do dogs chase cats?", "Why do cats chase dogs?", "order"),
        ("How do I convert kilometers to miles?", "How do I convert miles to kilometers?", "order"),
        ("Who did Plato teach?", "Who taught Plato?", "role"),
        ("What is a mortgage?", "What is a mortgage broker?", "alignment"),  # a word with no counterpart
    ],
)  # fmt: skip
def test_near_misses_the_guards_let_through_are_refused(verifier, a, b, reason):
    for x, y in ((a, b), (b, a)):
        verdict = verifier.verify(x, y)
        assert not verdict.verified and verdict.reason == reason and verdict.score < verifier.bar, verdict


def test_a_synonym_aligns_by_its_embedding_and_strictness_sets_the_bar(minilm):
    a, b = "How do I delete a branch in git?", "How do I remove a branch in git?"
    verdict = Verifier(minilm, 0.0, lexicon=False).verify(a, b)  # the embeddings alone
    (first, second) = verdict.alignments
    assert (first.word, first.counterpart) == ("delete", "remove") and first.similarity == second.similarity
    assert 0.5 < verdict.score < 1.0  # neither identical nor unrelated
    assert Verifier(minilm, verdict.score, lexicon=False).verify(a, b).verified
    assert not Verifier(minilm, "strict", lexicon=False).verify(a, b).verified


def test_content_words_drop_the_frame_and_keep_meaning():
    assert content_words("Can you please explain what inflation is?") == ["inflation"]
    assert content_words("Why don't I feel hungry after eating?") == ["why", "not", "feel", "hungry", "after",
                                                                      "eating"]  # fmt: skip
    assert content_words("Must I register to vote?") == ["must", "register", "vote"]
    assert answer_type("Which city is Japan's capital?") == "city"
    assert answer_type("What is the capital of Japan?") is None


def test_strictness_names_and_numbers():
    assert bar_of("strict") == 1.0 and bar_of(0.5) == 0.5
    assert list(STRICTNESS) == ["strict", "balanced", "lenient"]
    assert STRICTNESS["strict"] > STRICTNESS["balanced"] > STRICTNESS["lenient"]
    for bad in ("loose", 1.5, -0.1, True, None):
        with pytest.raises(InvalidRequest):
            bar_of(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        SemanticPolicy(strictness="loose")


@pytest.mark.parametrize(
    "near_miss", ["Must I register to vote?", "Why do cats chase dogs?"], ids=["modality", "role"]
)
def test_the_verifier_stops_what_the_guards_let_through_end_to_end(scripted_upstream, minilm, near_miss):
    asked = {"Must I register to vote?": "Can I register to vote?",
             "Why do cats chase dogs?": "Why do dogs chase cats?"}[near_miss]  # fmt: skip
    replies = {}
    for verify in (False, True):
        c = Client(base_url=scripted_upstream.base_url, api_key="sk-k", max_retries=0, cache=MemoryStore(),
                   semantic=SemanticPolicy(verify=verify))  # fmt: skip
        c.chat(asked, model="echo")
        replies[verify] = c.chat(near_miss, model="echo")
    assert replies[False].cached == "semantic"  # the guards alone serve the wrong answer
    assert replies[True].cached is False and replies[True].text.endswith(near_miss)


def test_a_verified_hit_carries_the_verifiers_score(scripted_upstream, minilm):
    c = Client(base_url=scripted_upstream.base_url, api_key="sk-k", max_retries=0, cache=MemoryStore(),
               semantic=True)  # fmt: skip
    c.chat("What is the capital of France?", model="echo")
    reply = c.chat("Which city is the capital of France?", model="echo")
    assert reply.cached == "semantic" and reply.semantic_score == 1.0
    assert reply.to_dict()["semantic_score"] == 1.0
    assert c.chat("What is the capital of France?", model="echo").semantic_score is None


def test_numbers_that_trade_places_around_a_repeated_word_are_refused(verifier):
    verdict = verifier.verify("How do I map port 5432 to port 5433 in Docker?",
                              "How do I map port 5433 to port 5432 in Docker?")  # fmt: skip
    assert not verdict.verified and verdict.reason == "order"
    assert verifier.verify(
        "How do I map port 5432 to port 5433?", "How can I map port 5432 to port 5433?"
    ).verified
