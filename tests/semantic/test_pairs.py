"""The pair model: the shipped weights under numpy, against torch's scores at export; its behaviour
in the verifier and the semantic cache. Pairs here come from the development sets or are made here;
the frozen sets are never used to write a test."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from prosa.cache.semantic.minilm import worker_pool
from prosa.cache.semantic.pairs import ADAPTERS, PairModel, pair_text, same_question
from prosa.cache.semantic.policy import VERIFIED_THRESHOLD, SemanticPolicy
from prosa.cache.semantic.verify import STRICTNESS, Verifier


@pytest.fixture(scope="module")
def pair_model(minilm) -> PairModel:
    return PairModel(minilm.model)


def _first_member() -> dict[str, np.ndarray]:
    """The shipped file's first member, its arrays named as fit.py writes one."""
    with np.load(ADAPTERS) as f:
        return {k.split("/", 1)[1]: f[k] for k in f.files if k.startswith("0/")}


@pytest.fixture(scope="module")
def ensemble(minilm, tmp_path_factory) -> PairModel:
    """Two members (the shipped first member, and a copy with a shifted head): what export.py writes
    for an ensemble, whose members read side by side."""
    one = _first_member()
    arrays = {f"0/{k}": v for k, v in one.items()} | {f"1/{k}": v for k, v in one.items()}
    arrays["1/head_b"] = one["head_b"] - 1.0
    path = tmp_path_factory.mktemp("ensemble") / "pairs.npz"
    np.savez(path, **arrays)
    return PairModel(minilm.model, path)


def test_numpy_reproduces_torchs_scores_recorded_at_export(pair_model):
    reference = pair_model.meta["reference"]
    assert len(reference) >= 3
    got = pair_model.scores([(a, b) for a, b, _ in reference])
    assert np.allclose(got, [want for _, _, want in reference], atol=1e-4), (got, reference)


def test_the_adapters_ship_with_their_training_record():
    assert ADAPTERS.is_file() and ADAPTERS.stat().st_size < 3_000_000
    with np.load(ADAPTERS) as f:
        meta = json.loads(str(f["meta"]))
    assert meta["data"] and all(len(sha) == 64 for sha in meta["data"].values())
    # Never trained on a validation set, nor on a frozen set the bench still scores as a test set:
    # v6-v18 were retired from test to training by round H, v19-v24 by round J (the README and the
    # bench say so).
    retired = {f"semantic_frozen_v{v}.tsv" for v in range(6, 25)}
    assert {name for name in meta["data"] if "frozen" in name} <= retired
    assert not any("validation" in name for name in meta["data"])
    root = Path(__file__).resolve().parents[2]
    for name, sha in meta["data"].items():  # the files it learnt from are the ones in the repository
        path = next(
            p for p in (root / "tests" / "data" / name, root / "train" / "data" / name) if p.is_file()
        )
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, name


def test_scores_are_probabilities_symmetric_and_batch_independent(pair_model):
    pairs = [
        ("How do I reverse a list in Python?", "What's the way to reverse a Python list?"),
        (
            "What is the boiling point of water in Fahrenheit?",
            "What is the boiling point of water in Celsius?",
        ),
        ("Who wrote Pride and Prejudice?", "Pride and Prejudice was written by whom?"),
    ]
    together = pair_model.scores(pairs)
    alone = [pair_model.score(a, b) for a, b in pairs]
    flipped = [pair_model.score(b, a) for a, b in pairs]
    assert np.allclose(together, alone, atol=1e-5) and np.allclose(alone, flipped, atol=1e-6)
    assert all(0.0 <= s <= 1.0 for s in alone)


def test_one_decisive_word_separates_what_embeddings_put_together(pair_model, minilm):
    # A near-miss the embedding scores about as close as the paraphrase (a development-set pair);
    # the pair model tells them apart by far.
    a = "How do I calculate the area of a circle?"
    para, near = (
        "What is the formula for the area of a circle?",
        "How do I calculate the circumference of a circle?",
    )
    v = minilm.embed([a, para, near])
    assert float(v[0] @ v[2]) > VERIFIED_THRESHOLD  # a candidate
    assert pair_model.score(a, para) >= STRICTNESS["strict"] > 0.5 > pair_model.score(a, near)


def test_verifier_memoises_and_scores_candidates_in_one_batch(minilm):
    verifier = Verifier(minilm, "strict")
    a = "How do I boil an egg?"
    verdicts = verifier.verify_many(a, ["How should I boil an egg?", "How do I poach an egg?"])
    assert [v.score for v in verdicts] == [verifier.verify(a, b).score for b in ("How should I boil an egg?",
                                                                             "How do I poach an egg?")]  # fmt: skip
    assert all(v.verified == (v.score >= verifier.bar) for v in verdicts)
    assert verdicts[1].reason == "pair" and not verdicts[1].verified


def test_the_verifier_refuses_numbers_in_digits_apart_unread(minilm, monkeypatch):
    verifier = Verifier(minilm, "lenient")
    real, read = verifier.model.scores, []
    monkeypatch.setattr(
        verifier.model, "scores", lambda pairs, bar=None: (read.extend(pairs), real(pairs, bar))[1]
    )
    a = "What does exit code 137 mean in Docker?"
    apart, same = (
        "docker container exited with code 139, what does that mean",
        "What does Docker exit code 137 mean?",
    )
    verdicts = verifier.verify_many(a, [apart, same])
    assert (verdicts[0].score, verdicts[0].verified, verdicts[0].reason) == (0.0, False, "digits")
    assert verdicts[1].reason != "digits" and read == [tuple(sorted((a, same)))]


def test_guards_stand_aside_for_the_verifier_unless_asked():
    assert SemanticPolicy().guards is False
    assert SemanticPolicy(verify=False).guards is True
    assert SemanticPolicy(guards=True).guards is True
    assert SemanticPolicy().threshold < SemanticPolicy(verify=False).threshold


def test_strictness_from_the_config_file(tmp_path, monkeypatch):
    from prosa.config import load_settings
    from prosa.errors import InvalidRequest

    monkeypatch.setenv("PROSA_CONFIG_DIR", str(tmp_path))
    for value, want in (('"balanced"', "balanced"), ("0.99", 0.99), ('"0.97"', 0.97)):
        (tmp_path / "config.toml").write_text(f"[cache]\nsemantic = true\nsemantic_strictness = {value}\n")
        settings = load_settings()
        policy = SemanticPolicy.from_option(True, strictness=settings.cache_semantic_strictness)
        assert policy is not None and policy.strictness == want
    with pytest.raises(InvalidRequest, match="strictness must be one of strict, balanced, lenient"):
        SemanticPolicy.from_option(True, strictness="very")


def test_a_single_member_split_over_two_cores_scores_as_it_reads_alone(minilm, tmp_path):
    # The shipped model has two members; a file of one (fit.py's own output) splits its dense layers.
    path = tmp_path / "one.npz"
    np.savez(path, **_first_member())
    single = PairModel(minilm.model, path)
    pairs = [
        ("How do I calculate the area of a circle?", "What is the formula for the area of a circle?"),
        ("How do I pick a lock?", "How do I choose a lock?"),
    ]
    (member,) = single.members
    rows, firsts = single.rows(pairs)
    alone = member.probabilities(rows, firsts)
    split = member.probabilities(rows, firsts, pool=worker_pool("pairs"))
    assert np.allclose(alone, split, atol=1e-6) and np.allclose(single.scores(pairs), split, atol=1e-6)


def test_a_bar_lets_the_ensemble_stop_early_without_changing_a_verdict(ensemble):
    pair_model = ensemble
    pairs = [
        ("How do I calculate the area of a circle?", "What is the formula for the area of a circle?"),
        ("How do I calculate the area of a circle?", "How do I calculate the circumference of a circle?"),
        ("How do I choose a good watermelon?", "How can I pick a good watermelon?"),
        ("How do I pick a lock?", "How do I choose a lock?"),
    ]
    full = pair_model.scores(pairs)
    for bar in (0.9, 0.99):
        for one in pairs:  # as the cache asks: one candidate at a time
            f, c = pair_model.scores([one]), pair_model.scores([one], bar)
            assert (f >= bar) == (c >= bar)
            # A batch's width follows its longest pair, and BLAS sums a little differently at another width.
            assert c >= f - 1e-6  # an upper bound when cut short
            if f >= bar:
                assert abs(c - f) < 1e-6  # the same when verified
        cut = pair_model.scores(pairs, bar)  # some verified: every member reads every pair
        assert max(abs(cut - full)) < 1e-6


def test_the_second_member_stops_once_the_first_rules_every_pair_out(ensemble, monkeypatch):
    import threading

    pair_model = ensemble
    first, second = pair_model.members
    ruled_out = [
        ("How do I calculate the area of a circle?", "How do I calculate the circumference of a circle?")
    ]
    exact = pair_model.scores(ruled_out)[0]
    # Hold the worker until the first member is done, so the second starts only after the verdict.
    done, firsts, stops = threading.Event(), [], []
    worker_pool("pairs").submit(done.wait, 5)
    read, hidden = first.probabilities, second.encoder._hidden

    def first_reads(*args, **kwargs):
        firsts.append(read(*args, **kwargs)[0])
        done.set()
        return np.array(firsts[-1:])

    def second_reads(rows, types, stop=None, pool=None):
        stops.append(stop.is_set())
        return hidden(rows, types, stop, pool)

    monkeypatch.setattr(first, "probabilities", first_reads)
    monkeypatch.setattr(second.encoder, "_hidden", second_reads)
    cut = pair_model.scores(ruled_out, 0.99)[0]
    assert stops == [True]  # the second member was asked to read, found the stop set and gave up
    assert exact < cut < 0.99 and abs(cut - (firsts[0] + 1) / 2) < 1e-6  # the bound: as if it said 1.0


@pytest.mark.parametrize(
    ("question", "read"),
    [
        ("Which planet is the hottest?", "Which planet is the hottest"),
        ("what is 3.5 as a fraction?!  ", "what is 3.5 as a fraction"),
        ('Explain "carpe diem".', 'Explain "carpe diem"'),
        ("¿Qué hora es?", "¿Qué hora es"),
        ("what's new in C++", "what's new in C++"),
        ("?", "?"),
    ],
)
def test_pair_text_drops_only_the_closing_punctuation(question, read):
    assert pair_text(question) == read


def test_the_pair_model_does_not_read_closing_punctuation(pair_model):
    # Trained on paraphrases that often differ in their closing "?", a model learnt it as a cue: a
    # near-miss typed without one scored as a paraphrase. Questions are read without it, in training too.
    a, b = "Which mushrooms are poisonous to dogs?", "which mushrooms are not poisonous to dogs"
    got = pair_model.scores([(a, b), (a, b + "?"), (a.rstrip("?"), b + "!")])
    assert got[0] == got[1] == got[2]
    assert got[0] < STRICTNESS["strict"]


# Two different questions on one topic, as a cache holds many. Described before any model trained on
# topic pairs was scored (the round's log; F2+F3 served the Go and the basil pairs as first worded
# there) and worded as here later: H2+H3 served the hiccups pair (0.940), F2+F3 none of these.
SAME_TOPIC = [
    ("How do I get the length of a list in Go?", "How do I write a for loop in Go?"),
    ("How long do I boil an egg for a runny yolk?", "How do I peel a boiled egg easily?"),
    ("How should I store fresh basil?", "How do I grow basil indoors?"),
    ("Can I renew my UK passport online?", "How long does a UK passport renewal take to arrive?"),
    ("What causes hiccups?", "How do I get rid of hiccups?"),
    ("How do I change a flat bike tyre?", "What pressure should my bike tyres be?"),
]


@pytest.mark.parametrize(("a", "b"), SAME_TOPIC)
def test_another_question_on_the_same_topic_is_refused(pair_model, a, b):
    assert pair_model.score(a, b) < STRICTNESS["strict"]


def test_a_filler_does_not_make_a_near_miss_pass(pair_model):
    # Trained on paraphrases restyled with fillers and near-misses that never were, a model learnt any
    # difference of style as a cue: the previous model scored the first three 0.999. Made up, not from a set.
    a, b = "How do I lock my screen on a Mac?", "how do I unlock my screen on a Mac"
    restyled = [("hey, " + b), ("can you tell me " + b), (b + " please?"), ("yo " + b)]
    assert max(pair_model.scores([(a, r) for r in restyled])) < STRICTNESS["strict"]


def test_one_question_typed_twice_is_served_unread(pair_model, monkeypatch):
    # Trained on pairs that differ, the model scored a question against itself as low as 0.29.
    typed = [("What is the capital of France?", "what is the capital of  france"), ("Hi!", "hi")]
    assert all(same_question(a, b) for a, b in typed)
    assert not same_question("What is the capital of France?", "What is the capital of Spain?")
    assert not same_question("¿Qué año es?", "¿Que ano es?")  # accents are kept
    monkeypatch.setattr(pair_model, "_read", lambda *args: pytest.fail("read a pair it needn't"))
    assert pair_model.scores(typed).tolist() == [1.0, 1.0]


def test_worker_pools_of_one_name_differ_by_size() -> None:
    # A three-member ensemble reads its second and third members on two workers, even after a
    # single member made the one-worker pool of the same name.
    one, two = worker_pool("sized", 1), worker_pool("sized", 2)
    assert one is worker_pool("sized") and two is worker_pool("sized", 2)
    assert (one._max_workers, two._max_workers) == (1, 2)
