"""WordNet as the verifier's second opinion: the shipped data, its relations, and what they change.

The pairs come from the development sets (or are made here); the frozen sets are never used to
write a test.
"""

from __future__ import annotations

import pytest

from prosa.cache.semantic import wordnet as wn_module
from prosa.cache.semantic.guards import veto
from prosa.cache.semantic.verify import Verifier
from prosa.cache.semantic.wordnet import WordNet, build, wordnet


@pytest.fixture(scope="module")
def wn() -> WordNet:
    lexicon = wordnet()
    assert lexicon is not None, "wordnet3.txt.gz ships with prosa"
    return lexicon


@pytest.mark.parametrize(
    ("x", "y", "relation"),
    [
        ("exit", "quit", "synonym"),
        ("biggest", "largest", "synonym"),  # through the inflections (morphy)
        ("invented", "inventor", "synonym"),  # a derived form
        ("author", "wrote", "synonym"),  # an irregular form ("wrote" -> "write")
        ("hot", "cold", "antonym"),
        ("thicker", "thinner", "antonym"),
        ("scorching", "cold", "antonym"),  # through a similar adjective
        ("buy", "sell", "antonym"),
        ("gold", "silver", "antonym"),  # WordNet lists the colours as opposites: a veto errs safe
        ("dog", "cat", None),  # sister words are no synonyms
        ("lemon", "lime", None),
        ("boil", "fry", None),
        ("xyzzy", "exit", None),  # a word WordNet does not know
    ],
)
def test_related(wn, x, y, relation):
    assert wn.related(x, y) == relation
    assert wn.related(y, x) == relation


def test_kind_of_is_a_hypernym_within_a_few_steps(wn):
    assert wn.kind_of("river", "nile") and wn.kind_of("poem", "haiku") and wn.kind_of("planet", "mars")
    assert not wn.kind_of("nile", "river")  # not the other way round
    assert not wn.kind_of("broker", "mortgage")
    assert not wn.kind_of("entity", "dog")  # too many steps up: everything is an entity


def test_the_verifier_aligns_synonyms_and_refuses_antonyms(minilm):
    on, off = Verifier(minilm, "balanced"), Verifier(minilm, "balanced", lexicon=False)
    a, b = "How do I exit Vim?", "How do I quit Vim?"
    assert on.verify(a, b).verified and on.verify(a, b).score == 1.0
    assert off.verify(a, b).score < 1.0
    a, b = "What is the Nile?", "What is the Nile river?"  # a kind said beside its instance
    assert on.verify(a, b).verified and not off.verify(a, b).verified
    a, b = "How do I tighten a loose screw?", "How do I loosen a tight screw?"  # every word, in another form
    assert off.verify(a, b).verified  # the embeddings alone see no difference
    verdict = on.verify(a, b)
    assert not verdict.verified and verdict.reason == "antonym"


def test_the_wording_guard_lets_a_synonym_through():
    assert veto("How do I exit Vim?", "How can I quit Vim?") is None
    assert veto("How do I exit Vim?", "How can I install Vim?") == "wording"
    assert veto("How do I exit Vim?", "How do I enter Vim?") == "wording"  # WordNet: antonyms


def test_who_was_the_maker_asks_who_made(minilm):
    verdict = Verifier(minilm, "balanced").verify(
        "Who invented the telephone?", "Who was the inventor of the telephone?"
    )
    assert verdict.verified and verdict.score == 1.0


def test_build_compacts_a_wordnet_dict_directory(tmp_path):
    """A two-synset WordNet in the 3.0 file format, built and read back."""
    src = tmp_path / "dict"
    src.mkdir()
    (src / "data.adj").write_text(
        "  1 licence header line\n"
        "00000001 00 a 02 hot 0 torrid 0 001 ! 00000002 a 0101 | high temperature\n"
        "00000002 00 a 01 cold 0 001 ! 00000001 a 0101 | low temperature\n"
    )
    (src / "index.adj").write_text("  1 licence\nhot a 1 1 ! 1 1 00000001\ncold a 1 1 ! 1 1 00000002\n"
                                   "torrid a 1 0 1 1 00000001\n")  # fmt: skip
    (src / "adj.exc").write_text("hotter hot\n")
    for pos in ("noun", "verb", "adv"):
        (src / f"data.{pos}").write_text("")
        (src / f"index.{pos}").write_text("")
    target = tmp_path / "wn.txt.gz"
    build(src, target)
    small = WordNet(target)
    assert small.related("hotter", "torrid") == "synonym"
    assert small.related("torrid", "cold") == "antonym"
    assert small.related("hot", "warm") is None


def test_without_the_data_the_verifier_uses_embeddings_alone(minilm, monkeypatch, tmp_path):
    monkeypatch.setattr(wn_module, "DATA", tmp_path / "missing.txt.gz")
    monkeypatch.setattr(wn_module, "_LOADED", [])
    assert wordnet() is None
    verdict = Verifier(minilm, "balanced").verify("How do I exit Vim?", "How do I quit Vim?")
    assert verdict.score < 1.0  # no second opinion, no crash


def test_a_replaced_word_is_compared_in_its_sentence(minilm):
    """MiniLM places "symptoms" and "signs" apart as words (0.58); in one sentence they align."""
    a, b = "What are the symptoms of dehydration?", "What are the signs of dehydration?"
    alone = minilm.embed(["symptom", "sign"])
    verdict = Verifier(minilm, "balanced").verify(a, b)
    assert verdict.verified and verdict.alignments[0].similarity > float(alone[0] @ alone[1])
    assert not Verifier(minilm, "strict").verify(a, b).verified  # strict: identical or WordNet synonyms only
    # A sister word in the same sentence stays apart: the context does not make dogs cats.
    refused = Verifier(minilm, "balanced").verify("Can dogs eat chocolate?", "Can cats eat chocolate?")
    assert not refused.verified and refused.alignments[0].word == "dog"


def test_words_in_context_are_unit_vectors_in_order(minilm):
    states = minilm.model.words_in_context("How tall is Mount Everest?")
    assert [w for w, _ in states] == ["how", "tall", "is", "mount", "everest", "?"]
    for _, v in states:
        assert abs(float(v @ v) - 1.0) < 1e-5
    again = dict(minilm.model.words_in_context("What is tall?"))
    assert float(dict(states)["tall"] @ again["tall"]) < 0.99  # the same word, another sentence


def test_with_the_verifier_on_a_one_word_swap_is_the_verifiers_to_judge(scripted_upstream, minilm):
    from prosa import Client
    from prosa.cache import MemoryStore
    from prosa.cache.semantic import SemanticPolicy

    a, b = "How do I delete my Facebook account?", "How do I remove my Facebook account?"
    assert veto(a, b) == "wording"
    assert veto(a, b, wording=False) is None
    served = {}
    for verify in (False, True):
        c = Client(base_url=scripted_upstream.base_url, api_key="sk-k", max_retries=0, cache=MemoryStore(),
                   semantic=SemanticPolicy(verify=verify, strictness="balanced"))  # fmt: skip
        c.chat(a, model="echo")
        served[verify] = c.chat(b, model="echo").cached
        assert c.chat("How do I make iced coffee?", model="echo").cached is False
        assert c.chat("How do I make iced tea?", model="echo").cached is False
    assert served == {False: False, True: "semantic"}


def test_an_added_word_may_stand_for_a_frame_word_in_context_but_a_new_detail_does_not(minilm):
    verifier = Verifier(minilm, "balanced")
    verdict = verifier.verify(
        "How do I get a passport?", "How can I obtain a passport?"
    )  # "get" is a frame word
    assert verdict.verified and verdict.alignments[0].counterpart == "get"
    for a, b in [
        ("What are the symptoms of dehydration?", "What are the symptoms of severe dehydration?"),
        ("How do I delete my Facebook account?", "How do I delete my Facebook account permanently?"),
        (
            "Do I have to pay tax on a lottery win?",
            "Can I pay tax on a lottery win?",
        ),  # a modal: never by context
    ]:
        assert not verifier.verify(a, b).verified


def test_in_what_year_asks_when(minilm):
    a, b = "When did the Berlin Wall fall?", "In what year did the Berlin Wall fall?"
    assert veto(a, b) is None and Verifier(minilm, "strict").verify(a, b).verified
    assert veto("What year did World War I start?", "What month did World War I start?") == "units"
