"""Synthetic training pairs made by editing real questions: ``python train/synth.py OUT.tsv IN.tsv ...``.

Near-misses (label 0) change one decisive thing: a number, a year, a unit, a language, a name, a
modal, a negation, a word for its WordNet antonym, the order of two names. Paraphrases (label 1)
change only the surface: case, punctuation, a filler phrase, a contraction. (WordNet synonyms in a
word's commonest sense were tried as paraphrases and dropped: "word order" became "word tell".) Every question of the
input files is a seed; each edit that applies gives at most one pair per seed. Labels come from the
edit, so they are as right as the edit's idea of the question; the human-written pairs carry the
subtle cases.
"""

from __future__ import annotations

import csv
import random
import re
import sys

SWAPS = [
    # unit
    ["miles", "kilometers", "km"], ["mile", "kilometer"], ["celsius", "fahrenheit", "kelvin"],
    ["cups", "grams", "ounces", "tablespoons", "teaspoons", "milliliters"], ["pounds", "kilograms", "kg", "lbs"],
    ["inches", "centimeters", "feet", "meters", "cm"], ["hours", "minutes", "seconds", "days"],
    ["hour", "minute", "day", "week", "month", "year"], ["mph", "km/h"], ["liters", "gallons"],
    ["dollars", "euros", "pounds sterling", "yen"], ["gb", "mb", "tb"], ["watts", "volts", "amps"],
    ["daily", "weekly", "monthly", "yearly"], ["per day", "per week", "per month", "per hour"],
    # language
    ["python", "javascript", "java", "rust", "go", "c++", "c#", "ruby", "php", "kotlin", "swift", "typescript"],
    ["french", "spanish", "german", "italian", "japanese", "chinese", "portuguese", "russian", "arabic"],
    ["english", "french", "spanish"], ["mysql", "postgresql", "sqlite"], ["windows", "macos", "linux"],
    ["react", "vue", "angular"], ["iphone", "android"], ["npm", "pip", "cargo"],
    # modality
    ["can", "should", "must", "will"], ["could", "should", "would"], ["may", "must"], ["is", "was"],
    ["does", "did"], ["do", "did"], ["are", "were"],
    # scope and comparison
    ["first", "last"], ["all", "some", "any"], ["every", "some"], ["always", "sometimes", "never"],
    ["average", "maximum", "minimum"], ["each", "total"], ["most", "least"], ["more", "less", "fewer"],
    ["best", "worst"], ["better", "worse"], ["largest", "smallest"], ["biggest", "smallest"],
    ["highest", "lowest"], ["fastest", "slowest"], ["oldest", "youngest", "newest"], ["cheapest", "most expensive"],
    ["before", "after", "during"], ["above", "below"], ["inside", "outside"], ["with", "without"],
    ["increase", "decrease", "reduce"], ["start", "stop"], ["open", "close"], ["buy", "sell"], ["add", "remove"],
    ["hot", "cold"], ["hottest", "coldest"], ["summer", "winter", "spring", "autumn"],
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    ["january", "february", "march", "april", "june", "july", "august", "september", "october", "november",
     "december"],
    ["morning", "evening", "night"], ["beginners", "experts"], ["kids", "adults", "teenagers"],
    ["dog", "cat"], ["dogs", "cats"], ["men", "women"], ["husband", "wife"], ["boyfriend", "girlfriend"],
    ["north", "south", "east", "west"], ["left", "right"], ["upload", "download"], ["import", "export"],
    ["encrypt", "decrypt"], ["compress", "decompress"], ["lowercase", "uppercase"], ["rows", "columns"],
    ["list", "table"], ["briefly", "in detail"], ["short", "long"], ["pros", "cons"],
]  # fmt: skip
NEGATIONS = [
    (r"\bis\b", "isn't"), (r"\bcan\b", "can't"), (r"\bdoes\b", "doesn't"), (r"\bdo\b", "don't"),
    (r"\bshould\b", "shouldn't"), (r"\bwill\b", "won't"), (r"\bare\b", "aren't"), (r"\bdid\b", "didn't"),
    (r"\bwas\b", "wasn't"), (r"\bwhy\b", "why not"),
]  # fmt: skip
FILLERS = ["can you tell me ", "quick question: ", "please tell me ", "hey, ", "i was wondering ",
           "do you know ", "could you explain ", "question: "]  # fmt: skip
CONTRACTIONS = [("what is", "what's"), ("how is", "how's"), ("who is", "who's"), ("where is", "where's"),
                ("it is", "it's"), ("do not", "don't"), ("i am", "i'm"), ("that is", "that's")]  # fmt: skip
ENTITY = re.compile(r"(?<!^)(?<![.?!] )\b([A-Z][a-z]{2,}(?: [A-Z][a-z]+)?)\b")
CAP = 900  # pairs per kind of edit
NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")


def _case(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word


def swap_word(q: str, rng: random.Random) -> tuple[str, str] | None:
    options = []
    for group in SWAPS:
        for w in group:
            for m in re.finditer(rf"\b{re.escape(w)}\b", q, re.IGNORECASE):
                options.append((m, [o for o in group if o != w]))
    if not options:
        return None
    m, others = rng.choice(options)
    new = _case(rng.choice(others), m.group(0))
    return q[: m.start()] + new + q[m.end() :], "swap"


def number(q: str, rng: random.Random) -> tuple[str, str] | None:
    found = list(NUMBER.finditer(q))
    if not found:
        return None
    m = rng.choice(found)
    old = m.group(0)
    if "." in old:
        new = f"{float(old) * rng.choice([2, 0.5, 1.5]):g}"
    else:
        n = int(old)
        if 1900 <= n <= 2100:
            new = str(n + rng.choice([-10, -2, -1, 1, 2, 5]))
        else:
            new = str(
                rng.choice([n + 1, n * 2, max(n - 1, 0) if n > 1 else n + 2, n * 10 if n < 100 else n // 2])
            )
    return (q[: m.start()] + new + q[m.end() :], "number") if new != old else None


def negate(q: str, rng: random.Random) -> tuple[str, str] | None:
    options = [(re.search(p, q, re.IGNORECASE), r) for p, r in NEGATIONS]
    options = [(m, r) for m, r in options if m]
    if not options:
        return None
    m, r = rng.choice(options)
    return q[: m.start()] + _case(r, m.group(0)) + q[m.end() :], "polarity"


def entity(q: str, rng: random.Random, pool: list[str]) -> tuple[str, str] | None:
    found = list(ENTITY.finditer(q))
    if not found:
        return None
    m = rng.choice(found)
    if len(found) >= 2 and rng.random() < 0.4:  # two names trade places: who does what
        m2 = rng.choice([f for f in found if f is not m])
        x, y = sorted([m, m2], key=lambda f: f.start())
        return q[: x.start()] + y.group(0) + q[x.end() : y.start()] + x.group(0) + q[y.end() :], "role"
    new = rng.choice(pool)
    return (q[: m.start()] + new + q[m.end() :], "entity") if new != m.group(0) else None


def from_to(q: str, rng: random.Random) -> tuple[str, str] | None:
    m = re.search(r"\b(from|between) (.+?) (to|and|into) (.+?)([?.!,]|$| in | on | using )", q, re.IGNORECASE)
    if not m or m.group(2).lower() == m.group(4).lower():
        return None
    s = q[: m.start(2)] + m.group(4) + " " + m.group(3) + " " + m.group(2) + q[m.end(4) :]
    return (s, "role") if m.group(1).lower() == "from" or m.group(3).lower() != "and" else None


def antonym(q: str, rng: random.Random, wn) -> tuple[str, str] | None:
    words = list(re.finditer(r"\b[a-z]{3,}\b", q))
    rng.shuffle(words)
    for m in words:
        w = m.group(0)
        senses = wn.lemma_senses(w) if w in wn._lemmas else {}
        adjective = [i for pos, ids in senses.items() if pos in ("a", "s", "r") for i in ids[:2]]
        if not adjective or "n" in senses and "v" not in senses and len(senses) == 1:
            continue
        opposite = []
        for sid in sorted(adjective):
            for o in wn.synset(sid)[1].get("!", ()):
                opposite += [x for x in wn.synset(o)[0] if "_" not in x and x != w]
        if opposite:
            return q[: m.start()] + rng.choice(sorted(opposite)) + q[m.end() :], "antonym"
    return None


def surface(q: str, rng: random.Random) -> str:
    """The same question, differently typed."""
    s = q
    for _ in range(rng.randint(1, 2)):
        k = rng.randrange(5)
        if k == 0:
            s = s.lower()
        elif k == 1:
            s = s.rstrip("?.! ")
        elif k == 2 and not s.lower().startswith(tuple(FILLERS)):
            s = rng.choice(FILLERS) + s[:1].lower() + s[1:]
        elif k == 3:
            for long, short in CONTRACTIONS:
                if re.search(rf"\b{long}\b", s, re.IGNORECASE):
                    s = re.sub(rf"\b{long}\b", short, s, count=1, flags=re.IGNORECASE)
                    break
                if re.search(rf"\b{re.escape(short)}\b", s, re.IGNORECASE):
                    s = re.sub(rf"\b{re.escape(short)}\b", long, s, count=1, flags=re.IGNORECASE)
                    break
        else:
            s = (
                s + (" please" if not s.endswith("please") else "")
                if rng.random() < 0.5
                else s.rstrip("?") + "??"
            )
    return s


def main() -> None:
    out, *paths = sys.argv[1:]
    from prosa.cache.semantic.wordnet import WordNet

    wn = WordNet()
    rng = random.Random(7)
    questions: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                questions += [r["a"], r["b"]]
    questions = sorted(set(questions))
    pool = sorted({m.group(0) for q in questions for m in ENTITY.finditer(q)})
    rows: set[tuple[int, str, str, str]] = set()
    for q in questions:
        for make in (swap_word, number, negate, from_to):
            made = make(q, rng)
            if made and made[0] != q:
                rows.add((0, made[1], q, made[0]))
        for made in (entity(q, rng, pool), antonym(q, rng, wn)):
            if made and made[0] != q:
                rows.add((0, made[1], q, made[0]))
        s = surface(q, rng)
        if s != q:
            rows.add((1, "paraphrase", q, s))

    by_kind: dict[str, list] = {}
    for r in sorted(rows):
        by_kind.setdefault(r[1], []).append(r)
    rows = set()
    for some in by_kind.values():  # no one edit may crowd out the rest
        rng.shuffle(some)
        rows.update(some[:CAP])
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["label", "category", "a", "b"])
        w.writerows(sorted(rows))
    from collections import Counter

    print(len(questions), "seeds", Counter(r[1] for r in rows))


if __name__ == "__main__":
    main()
