"""The numpy MiniLM against sentence-transformers' own output, and the evaluation sets' floors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from prosa.cache.semantic.evaluate import hits, lower_bound, precision_recall, read_pairs, score
from prosa.cache.semantic.policy import DEFAULT_THRESHOLD, VERIFIED_THRESHOLD
from prosa.cache.semantic.verify import DEFAULT_STRICTNESS, STRICTNESS

HERE = Path(__file__).parent
DATA = HERE.parent / "data"


def test_vectors_match_sentence_transformers(minilm):
    ref = json.loads((HERE / "reference_vectors.json").read_text())
    for sentence, ids in zip(ref["sentences"], ref["ids"], strict=True):
        assert minilm.model.tokenizer.ids(sentence, 256) == ids, sentence
    ours = minilm.embed(ref["sentences"])
    theirs = np.asarray(ref["vectors"], dtype=np.float32)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_one_at_a_time_equals_batched(minilm):
    texts = ["a", "What is the capital of France?", "How do I reverse a list in Python? " * 5]
    batched = minilm.embed(texts)
    single = np.vstack([minilm.embed([t]) for t in texts])
    assert np.abs(batched - single).max() < 1e-5


def test_gelu_is_berts_erf_gelu():
    import math

    from prosa.cache.semantic.minilm import _gelu

    x = np.linspace(-9, 9, 3000, dtype=np.float32).reshape(3, -1)
    want = np.array([v / 2 * (1 + math.erf(v / math.sqrt(2))) for v in x.ravel().tolist()]).reshape(x.shape)
    assert np.abs(_gelu(x.copy()) - want).max() < 2e-6


def test_the_dense_weights_share_one_buffer(minilm):
    # One array of 4 MB or more gets huge pages from numpy (see minilm.pack); each matrix alone would not.
    from prosa.cache.semantic.pairs import PairModel

    for layers in [minilm.model.layers] + [m.encoder.layers for m in PairModel(minilm.model).members]:
        buffer = layers[0].qkv_w.base
        assert buffer is not None and buffer.nbytes >= 4 << 20
        for layer in layers:
            for w in (layer.qkv_w, layer.out_w, layer.up_w, layer.down_w):
                assert w.base is buffer and w.flags.c_contiguous


def test_paraphrases_score_higher_than_unrelated_questions(minilm):
    a, b, c = minilm.embed(["How do I boil an egg?", "How do you boil an egg?", "What is the GDP of Japan?"])
    assert a @ b > 0.9 > 0.3 > a @ c


@pytest.fixture(scope="module")
def scored(minilm):
    return {name: score(read_pairs(DATA / f"semantic_pairs{name}.tsv"), minilm) for name in ("", ".holdout")}


def test_evaluation_set_is_large_and_balanced(scored):
    pairs = scored[""]
    assert len(pairs) >= 300
    categories = {p.category for p in pairs if p.label == 0}
    assert {
        "entity",
        "number",
        "negation",
        "unit",
        "comparison",
        "register",
        "language",
        "topic",
    } <= categories
    assert sum(p.label for p in pairs) >= 150


@pytest.mark.parametrize("name", ["", ".holdout"])
def test_precision_floor_at_the_default_threshold(scored, name):
    precision, recall, true_hits, false_hits = precision_recall(scored[name], DEFAULT_THRESHOLD)
    wrong = [
        (p.a, p.b, round(p.similarity, 3))
        for p in scored[name]
        if p.label == 0 and p.similarity >= DEFAULT_THRESHOLD and not p.vetoed_by
    ]
    assert precision >= 0.99, wrong
    assert recall >= 0.65  # a guard that vetoes everything would pass the floor above: keep it useful


def test_the_guards_are_what_make_the_threshold_safe(scored):
    # Without guards the same threshold serves many wrong answers: the guards are load-bearing.
    precision, _, _, false_hits = precision_recall(scored[""], DEFAULT_THRESHOLD, guards=False)
    assert precision < 0.9 and false_hits > 50


@pytest.fixture(scope="module")
def development(minilm):
    names = ("semantic_pairs.tsv", "semantic_pairs.holdout.tsv", "semantic_pairs.dev2.tsv")
    return score([p for name in names for p in read_pairs(DATA / name)], minilm)


def test_the_verifier_serves_at_most_one_wrong_answer_on_the_development_sets(development):
    # The pair model trained on these sets (among others): this is a training score, a floor that
    # says the shipped weights learnt what they were given; the README has the held-out figures.
    # (The guards were grown on these sets, so their recall here flatters them.) The floor allows one:
    # the model before this one (F2+F3) kept a training near-miss it did not learn ("What's the best
    # way to learn to drive?" / "Do I have to learn to drive?", 0.994); the shipped one serves none.
    bar = STRICTNESS[DEFAULT_STRICTNESS]
    _, guards_recall, _, guards_false = precision_recall(development, DEFAULT_THRESHOLD)
    precision, recall, true_hits, false_hits = precision_recall(development, VERIFIED_THRESHOLD, False, bar)
    wrong = [(p.a, p.b, p.score) for p in hits(development, VERIFIED_THRESHOLD, False, bar) if p.label == 0]
    assert guards_false > 0 and false_hits <= 1, wrong
    assert recall > 0.8 * guards_recall
    assert lower_bound(true_hits, true_hits) > 0.97


def test_lower_bound_is_clopper_pearson():
    assert lower_bound(0, 10) == 0.0
    assert lower_bound(59, 59) == pytest.approx(0.05 ** (1 / 59))  # ~0.9505: the "rule of three"
    assert lower_bound(95, 100) == pytest.approx(0.898, abs=0.001)
    assert lower_bound(40, 100) < lower_bound(50, 100) < 0.5
