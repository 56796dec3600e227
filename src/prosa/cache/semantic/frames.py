"""The grammar the verifier reads a question by: its words, the frame words set aside, question frames
rewritten to one spelling, and the closed classes (auxiliaries, pronouns) its order and role checks use.

Grammar, not meaning: synonyms and antonyms come from WordNet (:mod:`.wordnet`), never from here.
"""

from __future__ import annotations

import re
import unicodedata

from .guards import _stem

_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*|[$€£¥%]")

# Words that shape a question without changing what it asks. Deliberately short: a word missing
# here is only treated as meaning (it must then align), which costs recall, never precision.
FRAME = frozenset(
    """a an the this that these those it its i me my mine we us our you your yours one they them their
    is are was were be been being am do does did doing what which how please kindly tell explain describe
    define know let way ways there here thing something anything exactly actually really
    basically just simply like of in on at for by as so and or also too very called located mean meaning
    definition word term have has had get got make up to into using use used via with from about people someone
    and between""".split()
)
# Prepositions are frame words for the alignment ("in Linux" / "on Linux"), but they bind a relation:
# the order check keeps them ("Celsius to Fahrenheit" / "Fahrenheit to Celsius").
RELATIONS = frozenset("to into from than vs versus onto toward towards".split())
# Question frames, rewritten to one spelling before the words are compared. Each says the same
# question in another way: "what's the best way to X" is "how X", "what makes X" is "why X".
_REWRITES = [
    (re.compile(p), r) for p, r in (
        (r"\b(what|where|who|how|it|that|there|here)'s\b", r"\1 is"),
        (r"\bcan't\b", "can not"), (r"\bwon't\b", "will not"), (r"n't\b", " not"),
        (r"^(?:hey|hi|hello|ok|okay|so|quick question|question|i was wondering|i wonder|just curious)\b[,!:]?\s*",
         ""),
        # an embedded question is the question: "tell me who Einstein was" asks "who was Einstein"
        (r"^(?:please )?(?:tell me|explain|describe) (who|what|where|when|why|how) (.+?) (is|was|are|were)(?=\W*$)",
         r"\1 \3 \2"),
        # a measure asked as a clause or as a noun phrase: "how many people live in X" is "the
        # population of X"; "where does X come from" is "the origin of X"; "what is the purpose of
        # X" is "what does X do"; "what is the lifespan of X" is "how long do X live"
        (r"\bhow many people live in\b", "what is the population of"),
        (r"\bwhere (?:does|do|did) (.+?) (?:come from|originate)\b", r"what is the origin of \1"),
        (r"\bwhat (?:is|are) the (?:main )?(?:purpose|role|function|job) of (?:a |an |the )?(.+?)(?=\W*$)",
         r"what does \1 do"),
        (r"\bwhat is the (?:average |typical )?(?:lifespan|life span|life expectancy) of (?:a |an |the )?(.+?)"
         r"(?=\W*$)", r"how long do \1 live"),
        (r"\b(?:can|could|would|will) you (?:please )?(?=explain|tell|describe|define|give|show|help|recommend"
         r"|suggest|list|name|find)", ""),
        (r"^(?:please )?(?:name|list|suggest|recommend)\b", ""),
        # "who was X" asks what "tell me about X" asks; "who was the inventor of X" asks who invented X
        (r"^who (?:is|was|were|are) (?=[a-z])(?!(?:the|a|an) )", "about "),
        (r"\b(?:a|each|every|per) (day|week|month|year|hour|minute|second)\b", r"per \1"),
        (r"%", " percent"),
        # "have to" is the modal "must" ("do I have to learn to drive" is not "how do I learn to drive"),
        # not the frame word "have"
        (r"\b(?:have|has|had|got) to\b", "must"),
        (r"\b(?:i (?:want|would like|need) to know|do you know|i wonder|i forgot)\b", ""),
        (r"\b(?:help me understand|(?:show|give|tell) me(?: about)?)\b", ""),
        (r"\bhow (?:do|does|did|can|could|should|would|will|might|may) (?:i|you|we|one|people|someone)\b",
         "how"),
        (r"\b(?:what (?:is|are)|is there) (?:the |a |an |some )?(?:best |good |easiest |easy |right |simplest "
         r"|simple |proper |correct |quickest |fastest )?(?:way|ways|method|methods|steps) (?:to|for|of)\b", "how"),
        (r"\bwhat (?:can|should|do) i do to\b", "how"),
        (r"\bhow to\b", "how"),
        (r"\b(?:what (?:makes|made|causes|caused)|how come|what is the reason(?: for| that| why)?)\b", "why"),
        (r"\b(?:the )?difference between\b", "differ"),
        (r"\b(?:different|differs?) from\b", "differ"),
        (r"\b(?:in |at |on )?(?:what|which) (?:year|date)\b", "when"),
        (r"\bwhat does (\S+) (?:stand for|mean)\b", r"what is \1"),
        (r"\bwhat is (\S+) short for\b", r"what is \1"),
        (r"\bwhat is the (?:full form|meaning|definition) of\b", "what is"),
    )
]  # fmt: skip
_SUBJECT_WH = frozenset(("who", "what", "which"))
_DO = frozenset(("do", "does", "did"))
_AUX = frozenset(
    "is are was were do does did can could should would will shall may might must has have had".split()
)
_COPULA = frozenset(("is", "are", "was", "were"))
_PERSON = {"me": "i", "him": "he", "them": "they"}  # object -> subject pronoun ("us": the US)
_PERSONS = frozenset(("i", "he", "she", "they"))
_LINKS = frozenset(("a", "an", "the", "and", "or", "&"))  # words between two swapped ones that relate nothing
# Modals, auxiliaries and question words carry meaning a sentence's other words cannot stand in for.
_CLOSED = _AUX | frozenset("who what when where why how which whom whose not no never".split())


def normalise(text: str) -> str:
    """Lowercase text with its question frame rewritten to one spelling."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'").lower().strip()
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def words(text: str) -> list[str]:
    """A question's words, stemmed, in order (frame words and relation words included)."""
    out = []
    for token in _TOKEN.findall(normalise(text)):
        token = token[:-2] if token.endswith("'s") else token
        out.append(_stem(token) if token[0].isalpha() and token not in FRAME else token)
    return out
