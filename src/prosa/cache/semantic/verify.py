"""The verifier: a second opinion on a candidate hit, by aligning the words the two questions do not share.

The similarity of two sentence embeddings hides what differs between the sentences: "make my sauce
thicker" and "make my sauce thinner" score 0.95. The verifier looks at the difference itself:

1. The question frame is rewritten to one spelling ("what's the best way to X" and "how can I X" are
   "how X"; "what makes X" is "why X"; "how many people live in X" is "the population of X";
   "can you explain" goes; "have to" is "must") and frame words are set aside
   ("the", "is", "please"). Words that carry meaning stay, function words included: modals ("can",
   "must", "will"), negations, quantifiers ("all", "only", "first"), "why", "who", "when".
2. Words both questions share, or share in another form ("painted"/"painter", "wrote"/"written",
   "tire"/"tyre"), are matched and set aside; so is the answer's kind said on one side only ("which
   city is the capital" / "what is the capital").
3. Every word left over on either side must align with a word of the other question: by their own
   MiniLM embeddings; or, when WordNet (:mod:`.wordnet`, shipped) lists them as synonyms, fully; or,
   for one word replaced by another (or added), by their token states in the two sentences
   (:mod:`.context`). A word added beside a word it is a kind of ("the Nile river") adds nothing. The
   score is the weakest alignment (1.0 when nothing is left over); a hit is verified when it
   reaches the strictness's bar.
4. Before that, who does what to whom must not change: two shared words that trade places across a
   third ("cats chase mice", "port 80 to port 8080") or a subject question turned object question
   ("who taught Plato" / "who did Plato teach") refuse the hit; so do two differing words WordNet
   lists as antonyms ("tighten a loose screw" / "loosen a tight screw").

Its own word lists are grammar (frame words, question frames, irregular verb forms), not meaning:
synonyms and antonyms come from WordNet, a lexical database not written for these tests. Embeddings
place antonyms and sister words (hot/cold, gold/silver) about as close as synonyms; WordNet's
antonyms refuse the first, and the bar keeps sister words apart in context ("dogs"/"cats" 0.66).
Word vectors and sentences' token states are memoised.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING

from ..._record import Record
from ...errors import InvalidRequest
from .context import Contexts
from .frames import (
    _AUX,
    _CLOSED,
    _COPULA,
    _DO,
    _LINKS,
    _PERSON,
    _PERSONS,
    _SUBJECT_WH,
    _TOKEN,
    FRAME,
    RELATIONS,
    normalise,
    words,
)
from .guards import _near, _stem

if TYPE_CHECKING:
    import numpy as np

    from .embed import Embedder
    from .wordnet import WordNet

# Strictness -> the least word-alignment score a hit needs. Measured on the development and frozen
# sets by bench/semantic.py (the README has the table).
STRICTNESS: dict[str, float] = {"strict": 1.0, "balanced": 0.8, "lenient": 0.75}
DEFAULT_STRICTNESS = "strict"  # the only setting with no false hit on held-out v3 at its first run (README)

_MEMO = 8192


class Alignment(Record):
    """How one leftover word was aligned: the word, its best counterpart (or None) and their similarity."""

    __slots__ = ("word", "counterpart", "similarity")

    def __init__(self, word: str, counterpart: str | None, similarity: float) -> None:
        self.word, self.counterpart, self.similarity = word, counterpart, similarity


class Verdict(Record):
    """The verifier's opinion: ``score`` in [0, 1], ``verified`` at the bar, and why."""

    __slots__ = ("score", "verified", "reason", "alignments")

    def __init__(self, score: float, verified: bool, reason: str | None, alignments: list[Alignment]) -> None:
        self.score, self.verified, self.reason, self.alignments = score, verified, reason, alignments


@lru_cache(maxsize=4096)
def answer_type(text: str) -> str | None:
    """The noun that names the kind of answer in "which city is ...", "what planet is ...", if any.

    "Which city is the capital of France?" asks what "What is the capital of France?" asks: the
    answer's kind, said on one side only, is not a difference. Said on both sides, it must match.
    """
    tokens = _TOKEN.findall(normalise(text))
    if len(tokens) >= 3 and tokens[0] in ("which", "what") and tokens[1] not in FRAME | _AUX:
        # Only before a copula: "which city is ..." names the answer's kind, but "what comedies did
        # Shakespeare write" narrows what "what did Shakespeare write" asks.
        if tokens[2] in _COPULA:
            return _stem(tokens[1])
    return None


def _who_is_which(a: str, only_a: list[str], b: str, only_b: list[str], lexicon: WordNet) -> None:
    """ "who" asks what "which woman" or "which country" asks: when one side asks "who" and the other
    "which/what X", X a kind of person or organization in WordNet, neither word is a difference."""
    for mine, other, theirs in ((only_a, b, only_b), (only_b, a, only_a)):
        tokens = _TOKEN.findall(normalise(other))
        if "who" not in mine or len(tokens) < 2 or tokens[0] not in ("which", "what"):
            continue
        noun = tokens[1]
        if noun in FRAME or noun in _AUX:
            continue
        if lexicon.kind_of("person", noun) or lexicon.kind_of("organization", noun):
            mine.remove("who")
            if _stem(noun) in theirs:
                theirs.remove(_stem(noun))
            return


def content_words(text: str) -> list[str]:
    """The words of a question that carry its meaning, lowercased and stemmed, in order."""
    return [w for w in words(text) if w not in FRAME]


# Irregular verb forms: the inflection table the suffix rule below cannot guess.
_IRREGULAR = {
    form: base
    for base, forms in {
        "write": "wrote written", "speak": "spoke spoken", "make": "made", "teach": "taught", "build": "built",
        "find": "found", "know": "knew known", "give": "gave given", "take": "took taken", "go": "went gone",
        "win": "won", "hold": "held", "see": "saw seen", "do": "did done", "begin": "began begun",
        "choose": "chose chosen", "draw": "drew drawn", "drive": "drove driven", "eat": "ate eaten",
        "fall": "fell fallen", "fly": "flew flown", "grow": "grew grown", "hide": "hid hidden",
        "buy": "bought", "bring": "brought", "think": "thought", "catch": "caught", "sell": "sold",
        "tell": "told", "say": "said", "pay": "paid", "lose": "lost", "leave": "left", "feel": "felt",
        "keep": "kept", "sleep": "slept", "meet": "met", "send": "sent", "spend": "spent", "lead": "led",
        "run": "ran", "come": "came", "become": "became", "get": "got gotten", "freeze": "froze frozen",
        "break": "broke broken", "steal": "stole stolen", "wake": "woke woken", "sing": "sang sung",
        "invent": "inventor", "discover": "discoverer",
    }.items()
    for form in forms.split()
}  # fmt: skip


def _root(word: str) -> str:
    """A word without its commonest inflection: "used"/"use", "baking"/"bake", "writer"/"write"."""
    word = _IRREGULAR.get(word, word)
    for suffix in ("ing", "ed", "er", "es", "e", "s"):
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _same_word(x: str, y: str) -> bool:
    return _near(x, y) or (x[0].isalpha() and _root(x) == _root(y))


def _in_sentence(token: str, word: str) -> bool:
    """Whether a word of the sentence (as BERT splits it) is the verifier's (stemmed) ``word``."""
    return token == word or _stem(token) == word or (token[:1].isalpha() and _same_word(_stem(token), word))


def leftovers(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """The words of each side the other lacks, after matching equal words and forms of one word."""
    only_a, only_b = list((Counter(a) - Counter(b)).elements()), list((Counter(b) - Counter(a)).elements())
    for x in list(only_a):
        y = next((y for y in only_b if _same_word(x, y)), None)
        if y is not None:
            only_a.remove(x)
            only_b.remove(y)
    return only_a, only_b


def _occurrences(words: list[str]) -> list[tuple[str, int]]:
    """Each word with its occurrence number: "port 80 to port 8080" has ("port", 1) and ("port", 2)."""
    seen: Counter[str] = Counter()
    out = []
    for w in words:
        seen[w] += 1
        out.append((w, seen[w]))
    return out


def _reordered(a: list[str], b: list[str]) -> bool:
    """True when two shared words trade places across a third word both still have between them.

    "cats chase mice" / "mice chase cats" and "port 80 to port 8080" / "port 8080 to port 80" swap;
    "largest ocean" / "ocean is the largest" and "Germany's GDP" / "GDP of Germany" only move.
    """
    # A person said as subject or object is one participant: "can my landlord sue me" / "can I sue my
    # landlord" trade "landlord" and "I" around "sue".
    a, b = [_PERSON.get(w, w) for w in a], [_PERSON.get(w, w) for w in b]
    keep = {w for w in set(a) & set(b) if w not in FRAME or w in RELATIONS or w in _PERSONS}
    occ_a, occ_b = _occurrences(a), _occurrences(b)
    seq_a = [o for o in occ_a if o[0] in keep]
    seq_b = [o for o in occ_b if o[0] in keep]
    shared = set(seq_a) & set(seq_b)
    seq_a = [o for o in seq_a if o in shared]
    seq_b = [o for o in seq_b if o in shared]
    pos_b = {o: i for i, o in enumerate(seq_b)}
    at_a = {o: i for i, o in enumerate(occ_a)}
    at_b = {o: i for i, o in enumerate(occ_b)}
    for i, x in enumerate(seq_a):
        for j in range(i + 1, len(seq_a)):
            y = seq_a[j]
            if pos_b[y] < pos_b[x]:
                # The word between may be a frame word too: "should a patient tell a doctor" / "... a
                # doctor tell a patient" trade places around "tell". Articles and "and"/"or" do not
                # make a relation ("a list and a tuple" / "a tuple and a list" only move).
                between_a = {w for w, _ in occ_a[at_a[x] + 1 : at_a[y]]} - _LINKS
                between_b = {w for w, _ in occ_b[at_b[y] + 1 : at_b[x]]} - _LINKS
                if between_a & between_b:
                    return True
    return False


def _role(text: str) -> str | None:
    """Whether a who/what question asks for the subject ("who taught X") or the object ("who did X teach")."""
    tokens = _TOKEN.findall(normalise(text))
    if len(tokens) < 3 or tokens[0] not in _SUBJECT_WH:
        return None
    if tokens[1] in _DO:
        return "object"
    if tokens[1] in _AUX:
        return None
    # A noun phrase may come first: "which/what animals do snakes eat" asks for the object, "which
    # animals eat snakes" for the subject; "what language is spoken" (passive) is not told apart.
    verb = next((t for t in tokens[2:] if t in _AUX), None)
    if verb is None:
        return "subject"
    return "object" if verb in _DO else None


class Verifier:
    """Aligns the leftover words of two questions by their MiniLM embeddings (see the module doc)."""

    def __init__(
        self, embedder: Embedder, strictness: str | float = DEFAULT_STRICTNESS, *, lexicon: bool = True
    ) -> None:
        self.embedder = embedder
        self.bar = bar_of(strictness)
        self.use_lexicon = lexicon
        if lexicon:  # WordNet takes ~1 s to load: start now, so the first candidate hit seldom waits
            from .wordnet import wordnet

            threading.Thread(target=wordnet, name="prosa-wordnet", daemon=True).start()
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._contexts = Contexts(embedder, _in_sentence)
        self._lock = threading.Lock()

    def verify(self, a: str, b: str) -> Verdict:
        """The verifier's opinion on serving ``b``'s answer for ``a`` (symmetric)."""
        ra, rb = _role(a), _role(b)
        if ra and rb and ra != rb:
            return Verdict(0.0, False, "role", [])
        full_a, full_b = words(a), words(b)
        if _reordered(full_a, full_b):
            return Verdict(0.0, False, "order", [])
        wa, wb = [w for w in full_a if w not in FRAME], [w for w in full_b if w not in FRAME]
        only_a, only_b = leftovers(wa, wb)
        kind_a, kind_b = answer_type(a), answer_type(b)
        if kind_a and not kind_b and kind_a in only_a:
            only_a.remove(kind_a)
        if kind_b and not kind_a and kind_b in only_b:
            only_b.remove(kind_b)
        lexicon = self.lexicon()
        if lexicon is not None:
            _who_is_which(a, only_a, b, only_b, lexicon)
            # Over every pair of differing words, not only the leftovers: "tighten a loose screw" and
            # "loosen a tight screw" share every word in another form.
            diff_a, diff_b = sorted(set(wa) - set(wb)), sorted(set(wb) - set(wa))
            opposite = next(
                ((x, y) for x in diff_a for y in diff_b if lexicon.related(x, y) == "antonym"), None
            )
            if opposite is not None:
                return Verdict(0.0, False, "antonym", [Alignment(opposite[0], opposite[1], 0.0)])
        if not only_a and not only_b:
            return Verdict(1.0, True, None, [])
        needed = set(only_a) | set(only_b) | set(() if only_b else wb) | set(() if only_a else wa)
        vectors = self._vectors(needed)
        # A word added on one side only may be the kind of a word beside it ("the Nile river");
        # a word that replaced another ("lines" -> "words") must align with it.
        alignments = [self._align(x, only_b or wb, [] if only_b else wa, vectors) for x in only_a]
        alignments += [self._align(y, only_a or wa, [] if only_a else wb, vectors) for y in only_b]
        if len(only_a) + len(only_b) <= 2 and alignments[0].similarity < 1.0:
            alignments = self._in_context(a, only_a, b, only_b, alignments)
        score = round(min(al.similarity for al in alignments), 4)
        verified = score >= self.bar
        return Verdict(score, verified, None if verified else "alignment", alignments)

    def lexicon(self) -> WordNet | None:
        """WordNet, unless turned off (``Verifier(..., lexicon=False)``) or its data is missing."""
        if not self.use_lexicon:
            return None
        from .wordnet import wordnet

        return wordnet()

    def _align(
        self, word: str, others: list[str], own: list[str], vectors: dict[str, np.ndarray]
    ) -> Alignment:
        best, best_sim = None, 0.0
        for other in others:
            sim = float(vectors[word] @ vectors[other])
            if sim > best_sim:
                best, best_sim = other, sim
        lexicon = self.lexicon()
        if best_sim < 1.0 and lexicon is not None:
            # WordNet's second opinion: a synonym of a word of the other question, or a kind the
            # question names beside its instance ("the Nile river", "a haiku poem").
            same = next((o for o in others if lexicon.related(word, o) == "synonym"), None)
            kind = None if same else next((o for o in own if o != word and lexicon.kind_of(word, o)), None)
            if same or kind:
                return Alignment(word, same or kind, 1.0)
        return Alignment(word, best, max(0.0, min(1.0, best_sim)))

    def _in_context(
        self, a: str, only_a: list[str], b: str, only_b: list[str], alignments: list[Alignment]
    ) -> list[Alignment]:
        """One word replaced by another, or added, compared in the sentences (see :mod:`.context`).

        A replaced word is compared with its replacement; an added word with every word of the
        other question, frame words included ("how can I bake bread" / "how do I make bread").
        """
        if _CLOSED & {*only_a, *only_b}:
            return alignments
        if len(only_a) == 1 and len(only_b) == 1:
            found = self._contexts.best(a, only_a[0], b, {only_b[0]})
            if found and found[0] > alignments[0].similarity:
                x, y = only_a[0], only_b[0]
                return [Alignment(x, y, found[0]), Alignment(y, x, found[0])]
        elif len(only_a) + len(only_b) == 1:
            x, text, other = (only_a[0], a, b) if only_a else (only_b[0], b, a)
            found = self._contexts.best(text, x, other, None)
            if found and found[0] > alignments[0].similarity:
                return [Alignment(x, found[1], found[0])]
        return alignments

    def _vectors(self, words: set[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for w in words:
                v = self._memo.get(w)
                if v is not None:
                    self._memo.move_to_end(w)
                    out[w] = v
        missing = sorted(words - out.keys())
        if missing:
            for w, v in zip(missing, self.embedder.embed(missing), strict=True):
                out[w] = v
            with self._lock:
                for w in missing:
                    self._memo[w] = out[w]
                while len(self._memo) > _MEMO:
                    self._memo.popitem(last=False)
        return out


def bar_of(strictness: str | float) -> float:
    """The alignment score a hit needs for a strictness name ("strict", "balanced", "lenient") or number."""
    if isinstance(strictness, str):
        if strictness not in STRICTNESS:
            raise InvalidRequest(
                f"strictness must be one of {', '.join(STRICTNESS)} or a number in [0, 1] (got {strictness!r})",
                "semantic",
            )
        return STRICTNESS[strictness]
    if isinstance(strictness, bool) or not isinstance(strictness, (int, float)) or not 0 <= strictness <= 1:
        raise InvalidRequest(
            f"strictness must be a name or a number in [0, 1] (got {strictness!r})", "semantic"
        )
    return float(strictness)
