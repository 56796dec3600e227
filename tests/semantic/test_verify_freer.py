"""The verifier on freer rewordings: rarer WordNet senses confirmed in context, "have to" as a modal.

Pairs from the development sets (tests/data/semantic_pairs*.tsv), never from a frozen set.
"""

from __future__ import annotations

import pytest

from prosa.cache.semantic.verify import SENSE_IN_CONTEXT, Verifier, content_words
from prosa.cache.semantic.wordnet import wordnet


@pytest.fixture(scope="module")
def strict(minilm):
    verifier = Verifier(minilm, "strict")
    wordnet()  # loaded in the background by the verifier: wait for it here, not in the first test
    return verifier


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I pick a good avocado?", "How do I choose a good avocado?"),
        ("How can I decrease my screen time?", "How can I reduce my screen time?"),
        ("How do I build muscle fast?", "How do I build muscle quickly?"),
    ],
)
def test_a_rarer_wordnet_sense_the_sentences_agree_on_aligns_fully(strict, minilm, a, b):
    for x, y in ((a, b), (b, a)):
        verdict = strict.verify(x, y)
        assert verdict.verified and verdict.score == 1.0, verdict
    # Neither signal alone: WordNet's first senses do not list them, their embeddings are not identical.
    assert not Verifier(minilm, "strict", lexicon=False).verify(a, b).verified
    (x,), (y,) = (
        (set(content_words(a)) - set(content_words(b))),
        (set(content_words(b)) - set(content_words(a))),
    )
    assert wordnet().related(x, y) is None and wordnet().related(x, y, None) == "synonym"


def test_rarer_senses_need_the_context_to_agree(strict):
    # "deep" and "wide" share a rare WordNet sense; in "how deep/wide is the Pacific" they are apart.
    assert wordnet().related("deep", "wide", None) == "synonym"
    verdict = strict.verify("How deep is the Pacific Ocean?", "How wide is the Pacific Ocean?")
    assert not verdict.verified and verdict.score < SENSE_IN_CONTEXT


def test_have_to_is_a_modal_not_a_frame_word(strict):
    assert content_words("Do I have to learn to drive?") == ["must", "learn", "drive"]
    verdict = strict.verify("What's the best way to learn to drive?", "Do I have to learn to drive?")
    assert not verdict.verified and verdict.alignments[0].word == "must"
    assert strict.verify(
        "Do I have to pay tax on a lottery win?", "Must I pay tax on a lottery win?"
    ).verified


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is the population of Nigeria?", "How many people live in Nigeria?"),  # clause / noun phrase
        ("What is the origin of Halloween?", "Where does Halloween come from?"),
        ("What is the purpose of the mitochondria?", "What do mitochondria do?"),
        ("How long do cats live?", "What is the lifespan of a cat?"),
        ("Who was Albert Einstein?", "Tell me who Albert Einstein was."),  # an embedded question
        ("Who was the first woman to win a Nobel Prize?", "Which woman first won a Nobel Prize?"),
        ("Who won the 2018 FIFA World Cup?", "Which country won the 2018 FIFA World Cup?"),
    ],
)
def test_one_question_asked_as_a_clause_or_a_noun_phrase(strict, a, b):
    for x, y in ((a, b), (b, a)):
        verdict = strict.verify(x, y)
        assert verdict.verified and verdict.score == 1.0, verdict


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How many people live in Tokyo?", "How many people work in Tokyo?"),
        ("Where does Halloween come from?", "When did Halloween start?"),
        ("What is the lifespan of a cat?", "How long do cats sleep?"),
        (
            "Who won the 2018 FIFA World Cup?",
            "Which city hosted the 2018 FIFA World Cup?",
        ),  # a city is no "who"
        ("Who was the first woman to win a Nobel Prize?", "Which prize did the first woman win?"),
    ],
)
def test_the_rewritten_frames_keep_what_differs(strict, a, b):
    for x, y in ((a, b), (b, a)):
        assert not strict.verify(x, y).verified
