"""Guards: rules that veto a semantic hit the similarity score would allow.

Sentence embeddings place "capital of France?" and "capital of Germany?" close together, and
"10 miles in km" next to "10 km in miles". Each guard compares one aspect of the two questions
that must match for one answer to serve both: numbers, named entities, negation, comparison and
polarity words, units, register (audience, tone, form) and language. A guard errs towards veto: a
lost semantic hit costs one model call, a wrong one serves a wrong answer.

``veto(a, b)`` returns the name of the first guard that objects, or None. ``digits_apart(a, b)``
is the one check the verifier keeps in front of the pair model (see :mod:`.verify`).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

from .lexicon import (
    AFTER_NUMBER_UNITS,
    LANGUAGE_WORDS,
    NAMES,
    NEGATIONS,
    NUMBER_WORDS,
    ORDINALS,
    PARTICLES,
    POLARITY,
    REGISTER,
    RELATIONS,
    SCALES,
    STARTERS,
    STOPWORDS,
    UNITS,
    WH_CLASSES,
)

GUARDS = (
    "language",
    "numbers",
    "units",
    "entities",
    "order",
    "negation",
    "comparison",
    "register",
    "question",
    "wording",
)

_FRACTION = re.compile(r"(\d*)([\u00bc-\u00be\u2150-\u215e])")  # "59½", "¾"
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*|[$€£¥%]")
_SENTENCE_END = re.compile(r"[.?!:;\n]+\s*")
_DEGREES = re.compile(r"°\s*([cCfF])\b")
# "In what year did X" asks what "When did X" asks (the verifier rewrites it the same way): no unit.
_WHEN = re.compile(r"\b(?:in |at |on )?(?:what|which) (?:year|date)\b", re.IGNORECASE)
_PHRASES = {  # multi-word register markers, matched on the lowercased text
    "step by step": "steps",
    "like i'm": "child",
    "like i am": "child",
    "in simple terms": "simple",
    "in plain english": "simple",
    "in a nutshell": "short",
    "in a few words": "short",
    "in one word": "short",
    "in detail": "long",
}
_WAY_FRAME = re.compile(
    r"\b(?:best|good|easiest|easy|simplest|quickest|fastest|right|proper|correct) (?:way|ways|method|methods)"
    r" (?:to|for|of)\b"
)
_ONE_NOT_A_NUMBER_AFTER = frozenset("which the this that each every any no another some other".split())
_ORDINAL_SUFFIX = frozenset(("st", "nd", "rd", "th"))
_GUARDED_APART = NEGATIONS | WH_CLASSES.keys()
_LATIN = frozenset(LANGUAGE_WORDS) | {"latin"}


class Profile:
    """What the guards compare, worked out once per question."""

    __slots__ = ("words", "numbers", "units", "bindings", "entities", "names", "order", "negations",
                 "polarity", "register", "language", "wh", "content", "sequence")  # fmt: skip

    def __init__(self, text: str) -> None:
        text = _normal(text)
        tokens = _TOKEN.findall(text)
        lower = [t.lower() for t in tokens]
        self.words = frozenset(_bare(w) for w in lower) | frozenset(lower)
        self.numbers, self.units, self.bindings = _quantities(lower)
        self.entities, order = _entities(text, tokens)
        self.names = frozenset(w for w in self.words if w in NAMES)
        seen: dict[str, None] = {}
        for w in order + [_bare(w) for w in lower if _bare(w) in NAMES and not w.endswith("'s")]:
            seen.setdefault(w, None)
        self.order = tuple(seen)
        self.negations = sum(1 for w in lower if w in NEGATIONS or w.endswith("n't"))
        # "What's the best way to X" asks how to X, not for a comparison: a frame's "best" is no polarity.
        compared = (
            _TOKEN.findall(_WAY_FRAME.sub(" ", text.lower())) if _WAY_FRAME.search(text.lower()) else lower
        )
        self.polarity = frozenset(POLARITY[w] for w in compared if w in POLARITY) | {
            w for w in lower if w in PARTICLES
        }
        lowered = " ".join(lower)
        register = {REGISTER[w] for w in lower if w in REGISTER}
        register.update(canon for phrase, canon in _PHRASES.items() if phrase in lowered)
        self.register = frozenset(register)
        self.language = _language(text, lower)
        self.wh = frozenset(WH_CLASSES[w] for w in lower if w in WH_CLASSES)
        self.sequence = _content(lower)
        self.content = Counter(w for w in self.sequence if w not in RELATIONS)


@lru_cache(maxsize=4096)
def profile(text: str) -> Profile:
    """The guards' view of a question (cached: stored questions come up again and again)."""
    return Profile(text)


def veto(a: str, b: str, *, skip: frozenset[str] | set[str] = frozenset()) -> str | None:
    """The first guard that refuses to let an answer to ``a`` serve ``b`` (or the reverse), or None.

    ``skip`` names guards not to consult (for measuring what each one costs).
    """
    for name in vetoes(a, b):
        if name not in skip:
            return name
    return None


def digits_apart(a: str, b: str) -> bool:
    """Whether each question holds a number written in digits that the other does not hold at all,
    in digits or in words: "HTTP status 301" / "302" (the pair model scored that pair 0.989).

    Both sides must write one: "15% of 80" / "fifteen percent of 80" and "a $60,000 salary" / "60k a
    year" pass, and so does a number on one side only. On the training and development files this
    refuses 11 of 13,877 paraphrases ("movies from the 80s" / "the 1980s").
    """
    (da, ha), (db, hb) = _written(a), _written(b)
    return bool(da - hb) and bool(db - ha)


def vetoes(a: str, b: str) -> Iterator[str]:
    """Every guard that objects to the pair, in the order :func:`veto` consults them (lazily)."""
    pa, pb = profile(a), profile(b)
    if pa.language != pb.language and not (
        "latin" in (pa.language, pb.language) and _LATIN >= {pa.language, pb.language}
    ):
        yield "language"  # "latin" is Latin letters in no clear language: it vetoes only another script
    if pa.numbers != pb.numbers:
        yield "numbers"
    if pa.units != pb.units or pa.bindings != pb.bindings:
        yield "units"
    if not (pa.entities <= pb.words and pb.entities <= pa.words) or pa.names != pb.names:
        yield "entities"
    if _reordered(pa.order, pb.order) or _swapped(pa.sequence, pb.sequence):
        yield "order"  # the same words, but who does what to whom changed
    if pa.negations != pb.negations:
        yield "negation"
    if pa.polarity != pb.polarity:
        yield "comparison"
    if pa.register != pb.register:
        yield "register"
    if pa.wh and pb.wh and pa.wh != pb.wh:
        yield "question"  # who / when / where ask for different things
    if _one_word_swapped(pa.content, pb.content):
        yield "wording"


def _content(lower: list[str]) -> tuple[str, ...]:
    """Content words' stems in order, with the relation words ("to", "than") that join them.

    Function words are left out, and so are numbers, units, negations and who/when/where, which
    other guards compare. Comparison and register words stay: their order matters to swaps.
    """
    out = []
    previous = ""
    for word in lower:
        number = word[0].isdigit() or word in NUMBER_WORDS or word in SCALES or word in ORDINALS
        unit = word in UNITS or (previous[:1].isdigit() and word in AFTER_NUMBER_UNITS)
        if word in RELATIONS:
            out.append(word)
        elif not (number or unit or word in STOPWORDS or word in _GUARDED_APART or word.endswith("n't")):
            out.append(_stem(word))
        previous = word
    return tuple(out)


def _swapped(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """True when two words traded places across a relation word ("list to string" / "string to list").

    Without a relation word between them a swap is usually a paraphrase ("SQL join" / "join in SQL").
    """
    if len(a) != len(b):
        return False
    moved = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(moved) != 2 or a[moved[0]] != b[moved[1]] or a[moved[1]] != b[moved[0]]:
        return False
    return any(w in RELATIONS for w in a[moved[0] + 1 : moved[1]])


def _stem(word: str) -> str:
    word = _bare(word)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _one_word_swapped(a: Counter[str], b: Counter[str]) -> bool:
    """True when one content word was replaced by an unrelated one: how near-misses are made
    ("boil" -> "fry", "key" -> "value", "dogs" -> "cats"). Spelling variants ("tire"/"tyre") and
    one word's forms ("rest"/"restful") pass."""
    only_a, only_b = a - b, b - a
    if sum(only_a.values()) != 1 or sum(only_b.values()) != 1:
        return False
    x, y = next(iter(only_a)), next(iter(only_b))
    return not _near(x, y) and not _synonyms(x, y)


def _distinct(x: str, y: str) -> bool:
    """WordNet knows both words, as different words that are not synonyms."""
    from .wordnet import wordnet

    lexicon = wordnet()
    if lexicon is None:
        return False
    lx, ly = lexicon.lemmas(x), lexicon.lemmas(y)
    return bool(lx and ly and not lx & ly) and lexicon.related(x, y) != "synonym"


def _synonyms(x: str, y: str) -> bool:
    """WordNet's word on a swap: "tall"/"high" or "exit"/"quit" is no change of meaning."""
    from .wordnet import wordnet

    lexicon = wordnet()
    return lexicon is not None and lexicon.related(x, y) == "synonym"


def _near(x: str, y: str) -> bool:
    """Two forms of one word: "rest"/"restful", "inventor"/"invented", "tire"/"tyre"."""
    short, long = sorted((x, y), key=len)
    if len(short) >= 4 and long.startswith(short) and len(long) - len(short) <= 4:
        return True
    common = len(os.path.commonprefix((x, y)))
    if common >= 6 and len(x) - common <= 3 and len(y) - common <= 3:
        return True
    if len(short) >= 4 and len(long) - len(short) <= 1 and _edits(x, y) <= 1:
        return not _distinct(x, y)  # "tire"/"tyre" is one word, "weight"/"height" two
    return False


def _edits(x: str, y: str) -> int:
    """Levenshtein distance (short words only)."""
    row = list(range(len(y) + 1))
    for i, cx in enumerate(x, 1):
        prev, row[0] = row[0], i
        for j, cy in enumerate(y, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (cx != cy))
    return row[-1]


def _bare(word: str) -> str:
    """A word without a possessive: "france's" -> "france"."""
    if word.endswith("'s"):
        return word[:-2]
    return word[:-1] if word.endswith("'") else word


def _quantities(lower: list[str]) -> tuple[Counter[str], tuple[str, ...], frozenset[tuple[str, str]]]:
    """Numbers (digits, number words, ordinals), units in order, and which number goes with which unit."""
    numbers: Counter[str] = Counter()
    units: list[str] = []
    bindings: set[tuple[str, str]] = set()
    last_number: str | None = None  # the number just before this token, if any
    pending: float | None = None  # a number spelled in words, still being read ("twenty" "five")
    total = 0.0
    for i, word in enumerate(lower):
        if (
            word == "and"
            and (pending is not None or total)
            and i + 1 < len(lower)
            and lower[i + 1] in NUMBER_WORDS
        ):
            continue  # "one hundred and twenty" is one number
        value = _spelled(word, lower[i - 1] if i else "", lower[i + 1] if i + 1 < len(lower) else "")
        if value is not None and (word in SCALES or word in NUMBER_WORDS):
            if word in SCALES:
                total += (pending if pending is not None else 1) * value
                pending = None
            else:
                pending = (pending or 0) + value
            continue
        if pending is not None or total:
            last_number = _canon(total + (pending or 0))
            numbers[last_number] += 1
            pending, total = None, 0.0
        if word[0].isdigit():
            last_number = _digits(word)
            numbers[last_number] += 1
            continue
        if word in _ORDINAL_SUFFIX and last_number is not None:
            numbers[last_number] -= 1  # "1st" is the ordinal 1, not the number 1
            numbers[f"#{last_number}"] += 1
            last_number = None
            continue
        unit = UNITS.get(word)
        if unit is None and last_number is not None:
            unit = AFTER_NUMBER_UNITS.get(word)
        if unit is not None:
            units.append(unit)
            if last_number is not None:
                bindings.add((last_number, unit))
        elif word in ORDINALS:
            numbers[f"#{ORDINALS[word]}"] += 1
        last_number = None
    if pending is not None or total:
        numbers[_canon(total + (pending or 0))] += 1
    return +numbers, tuple(units), frozenset(bindings)


def _normal(text: str) -> str:
    # A vulgar fraction first: NFKC makes "59½" "591⁄2", which reads as the numbers 591 and 2.
    text = _FRACTION.sub(lambda m: _canon(int(m[1] or 0) + unicodedata.numeric(m[2])), text)
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    text = _DEGREES.sub(lambda m: " celsius " if m.group(1) in "cC" else " fahrenheit ", text)
    return _WHEN.sub("when", text)


@lru_cache(maxsize=4096)
def _written(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The numbers a question writes in digits, and every number it holds: in digits, in words, as
    an ordinal ("2nd" is also 2) or with a thousands "k" ("60k" is also 60000). Without a whole
    :class:`Profile`: the verifier asks only this (a profile of a new question costs ~65 us)."""
    lower = [t.lower() for t in _TOKEN.findall(_normal(text))]
    digits = {_digits(w) for w in lower if w[0].isdigit()}
    held = digits | {n.lstrip("#") for n in _quantities(lower)[0]}
    for w, after in zip(lower, lower[1:], strict=False):
        if after == "k" and w.replace(".", "", 1).isdigit():
            held.add(_canon(float(w) * 1000))
    return frozenset(digits), frozenset(held)


def _spelled(word: str, before: str, after: str) -> float | None:
    """The value of a number word, or None ("which one", "one of" are not numbers)."""
    if word == "one" and (before in _ONE_NOT_A_NUMBER_AFTER or after in ("of", "another")):
        return None
    if word in ("a", "an"):
        return None
    if word in SCALES:
        return SCALES[word]
    return NUMBER_WORDS.get(word)


def _digits(token: str) -> str:
    """One spelling per number: "1,000" and "1000" are the same, "3.50" is "3.5"; "10:30" stays a time."""
    if ":" in token:
        return token
    if "," in token:
        parts = token.split(",")
        token = "".join(parts) if all(len(p) == 3 for p in parts[1:]) else token.replace(",", ".")
    try:
        return _canon(float(token))
    except ValueError:
        return token


def _canon(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _entities(text: str, tokens: list[str]) -> tuple[frozenset[str], list[str]]:
    """Capitalised words that name something, lowercased, and their order of appearance (possessives left out).

    The first word of a sentence is capitalised anyway, so it counts only when it is not a common
    question opener; "I" never counts.
    """
    starts = {m.end() for m in _SENTENCE_END.finditer(text)} | {len(text) - len(text.lstrip())}
    found: list[str] = []
    ordered: list[str] = []
    position = 0
    for token in tokens:
        position = text.find(token, position)
        lower = token.lower()
        if (
            token[0].isdigit()
            or not any(c.isupper() for c in token)
            or lower in ("i", "i'm", "i've", "i'd", "i'll")
        ):
            position += len(token)
            continue
        if position in starts and lower in STARTERS:
            position += len(token)
            continue
        found.append(_bare(lower))
        if not lower.endswith("'s"):  # "Germany's GDP" is "the GDP of Germany": no order to keep
            ordered.append(found[-1])
        position += len(token)
    return frozenset(found), ordered


def _reordered(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """True when the names both questions share come in another order ("EUR to USD" vs "USD to EUR")."""
    shared = set(a) & set(b)
    if len(shared) < 2:
        return False
    return [w for w in a if w in shared] != [w for w in b if w in shared]


def _language(text: str, lower: list[str]) -> str:
    """The language or script a question is written in, by its letters and most common words."""
    scripts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            if ord(ch) < 0x250:
                scripts["latin"] += 1
            else:
                scripts[unicodedata.name(ch, "OTHER").split()[0]] += 1
    if scripts and scripts.most_common(1)[0][0] != "latin":
        return scripts.most_common(1)[0][0].lower()
    votes = Counter({lang: sum(1 for w in lower if w in words) for lang, words in LANGUAGE_WORDS.items()})
    (best, count), *rest = votes.most_common()
    if count == 0 or (rest and rest[0][1] == count):
        return "latin"  # Latin letters, language unclear
    return best
