"""WordNet: the shipped data, its relations, and what they change in the guards.

The pairs come from the development sets (or are made here); the frozen sets are never used to
write a test.
"""

from __future__ import annotations

import pytest

from prosa.cache.semantic import wordnet as wn_module
from prosa.cache.semantic.guards import veto
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


def test_the_wording_guard_lets_a_synonym_through():
    assert veto("How do I exit Vim?", "How can I quit Vim?") is None
    assert veto("How do I exit Vim?", "How can I install Vim?") == "wording"
    assert veto("How do I exit Vim?", "How do I enter Vim?") == "wording"  # WordNet: antonyms


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


def test_without_the_data_the_wording_guard_lets_no_synonym_through(monkeypatch, tmp_path):
    monkeypatch.setattr(wn_module, "DATA", tmp_path / "missing.txt.gz")
    monkeypatch.setattr(wn_module, "_LOADED", [])
    assert wordnet() is None
    assert veto("How do I exit Vim?", "How do I quit Vim?") == "wording"  # no second opinion, no crash


def test_with_the_verifier_on_a_one_word_swap_is_the_verifiers_to_judge(scripted_upstream, minilm):
    from prosa import Client
    from prosa.cache import MemoryStore
    from prosa.cache.semantic import SemanticPolicy

    # Development-set pairs (the pair model trained on them): a synonym swap the wording guard
    # refuses, and a one-word near-miss it refuses too.
    a, b = "How do I choose a good watermelon?", "How can I pick a good watermelon?"
    assert veto(a, b) == "wording" and veto(a, b, skip={"wording"}) is None
    served = {}
    for verify in (False, True):
        c = Client(base_url=scripted_upstream.base_url, api_key="sk-k", max_retries=0, cache=MemoryStore(),
                   semantic=SemanticPolicy(verify=verify))  # fmt: skip
        c.chat(a, model="echo")
        served[verify] = c.chat(b, model="echo").cached
        assert c.chat("How do I pick a lock?", model="echo").cached is False
        assert c.chat("How do I choose a lock?", model="echo").cached is False
    assert served == {False: False, True: "semantic"}
