"""WordNet 3.0 on two words: same meaning, opposite meaning, or neither.

The guards' "wording" check (a content word replaced by an unrelated one) lets a WordNet synonym
through ("exit"/"quit"), and ``train/synth.py`` makes near-misses from WordNet's antonyms.
Embeddings place synonyms (tall/high) about as far apart as antonyms (hot/cold); WordNet, a lexical
database written by lexicographers (not a list grown on our test pairs), tells the two apart:

- ``related(x, y)``: "synonym" when one of the commonest senses of ``x`` and one of ``y``'s are one
  synset, or are linked as similar adjectives ("tall"/"high"), derived forms ("invent"/"inventor"),
  an adjective and its attribute ("tall"/"height") or pertainym; "antonym" when any sense of one
  is the antonym of a sense of the other (directly or through a similar adjective); else None.

Only the first ``SENSES`` senses of a word count for a synonym (WordNet lists senses by frequency):
rare senses make odd synonyms ("learn" is one sense of "teach"). Antonyms count in every sense.

The data ships with prosa as ``wordnet3.txt.gz`` (about 2 MB), compacted from WordNet 3.0's
``data.*``, ``index.*`` and ``*.exc`` files by ``python -m prosa.cache.semantic.wordnet build DIR``
(DIR: a WordNet dict directory, e.g. Debian's /usr/share/wordnet). WordNet's licence is in
``WORDNET_LICENSE``. It is loaded on first use (~1 s, ~25 MB), lines parsed as they are needed.
"""

from __future__ import annotations

import gzip
import sys
import threading
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("wordnet3.txt.gz")
SENSES = 3  # the commonest senses of a word that may make it a synonym
_POS = ("n", "v", "a", "r")
# Pointers kept from WordNet: antonym, similar to, derivation, attribute, pertainym, hypernym, instance.
_KEEP = {"!": "!", "&": "&", "+": "+", "=": "=", "\\": "\\", "@": "@", "@i": "@"}
_SAME = "&+=\\"
# WordNet's own detachment rules (morphy): an inflected form to the base forms to look up.
_RULES = {
    "n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
          ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}  # fmt: skip


class WordNet:
    """The compact index: synset lines and lemma lines, parsed on demand."""

    def __init__(self, path: Path = DATA) -> None:
        self._synsets: list[str] = []
        self._lemmas: dict[str, str] = {}
        self._exceptions: dict[str, str] = {}
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                kind, _, rest = line.rstrip("\n").partition(" ")
                if kind == "S":
                    self._synsets.append(rest)
                elif kind == "L":
                    lemma, _, senses = rest.partition(" ")
                    self._lemmas[lemma] = senses
                elif kind == "X":
                    form, _, bases = rest.partition(" ")
                    self._exceptions[form] = bases
        self.lemma_senses = lru_cache(maxsize=8192)(self._lemma_senses)
        self.synset = lru_cache(maxsize=32768)(self._synset)

    def _lemma_senses(self, lemma: str) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        for part in self._lemmas.get(lemma, "").split():
            pos, _, ids = part.partition(":")
            out[pos] = tuple(int(i) for i in ids.split(","))
        return out

    def _synset(self, sid: int) -> tuple[frozenset[str], dict[str, tuple[int, ...]]]:
        lemmas, *pointers = self._synsets[sid].split(" ")
        rel: dict[str, list[int]] = {}
        for p in pointers:
            rel.setdefault(p[0], []).append(int(p[1:]))
        return frozenset(lemmas.split(",")[1:]), {k: tuple(v) for k, v in rel.items()}

    def lemmas(self, word: str) -> set[str]:
        """The base forms WordNet knows for a word: itself, its exception forms ("went" -> "go"), morphy's."""
        word = word.lower()
        out = {word} if word in self._lemmas else set()
        out.update(b for b in self._exceptions.get(word, "").split(",") if b)
        for pos in _POS:
            for suffix, replacement in _RULES[pos]:
                if word.endswith(suffix) and len(word) > len(suffix) + 1:
                    base = word[: len(word) - len(suffix)] + replacement
                    if pos in self.lemma_senses(base):
                        out.add(base)
        return out

    def senses(self, word: str, top: int | None = SENSES) -> set[int]:
        """Synset ids of a word's first ``top`` senses in each part of speech (None: all)."""
        out: set[int] = set()
        for lemma in self.lemmas(word):
            for ids in self.lemma_senses(lemma).values():
                out.update(ids[:top] if top else ids)
        return out

    def _near(self, sids: set[int]) -> set[int]:
        """The synsets and those one "same meaning" pointer away (similar, derived, attribute, pertainym)."""
        out = set(sids)
        for s in sids:
            rel = self.synset(s)[1]
            for k in _SAME:
                out.update(rel.get(k, ()))
        return out

    def _similar(self, sids: set[int]) -> set[int]:
        """The synsets and the adjectives similar to them ("scorching" for "hot")."""
        return sids | {t for s in sids for t in self.synset(s)[1].get("&", ())}

    def related(self, x: str, y: str) -> str | None:
        """ "synonym", "antonym" or None for two words (see the module doc)."""
        all_x, all_y = self.senses(x, None), self.senses(y, None)
        if not all_x or not all_y:
            return None
        for a, b in ((all_x, all_y), (all_y, all_x)):
            opposite = {o for s in self._similar(a) for o in self.synset(s)[1].get("!", ())}
            if opposite & self._similar(b):
                return "antonym"
        sx, sy = self.senses(x), self.senses(y)
        if sx & sy or self._near(sx) & sy or sx & self._near(sy):
            return "synonym"
        return None


_LOCK = threading.Lock()
_LOADED: list[WordNet | None] = []


def wordnet() -> WordNet | None:
    """The shared index, loaded on first use; None when the data file is missing (the wording guard
    then lets no synonym through)."""
    if not _LOADED:
        with _LOCK:
            if not _LOADED:
                _LOADED.append(WordNet() if DATA.exists() else None)
    return _LOADED[0]


def build(source: Path, target: Path = DATA) -> None:
    """Compact a WordNet 3.0 dict directory into prosa's index (single-word lemmas only)."""
    ids: dict[tuple[str, str], int] = {}
    raw: list[tuple[str, list[str], list[tuple[str, str, str]]]] = []
    for pos, name in zip(_POS, ("noun", "verb", "adj", "adv"), strict=True):
        for line in (source / f"data.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue  # the licence header
            fields = line.split(" | ")[0].split()
            offset, count = fields[0], int(fields[3], 16)
            lemmas = [fields[4 + 2 * i].lower().split("(")[0] for i in range(count)]
            at = 4 + 2 * count
            pointers = []
            for i in range(int(fields[at])):
                symbol, target_offset, target_pos = fields[at + 1 + 4 * i : at + 4 + 4 * i]
                if symbol in _KEEP:
                    pointers.append((_KEEP[symbol], target_offset, "a" if target_pos == "s" else target_pos))
            ids[(pos, offset)] = len(raw)
            raw.append((pos, [w for w in lemmas if "_" not in w], pointers))
    lines = ["# WordNet 3.0 (c) 2006 Princeton University, compacted for prosa; licence: WORDNET_LICENSE"]
    for pos, lemmas, pointers in raw:
        refs = [f"{s}{ids[(p, o)]}" for s, o, p in pointers if (p, o) in ids]
        lines.append(" ".join(["S", ",".join([pos, *lemmas]), *dict.fromkeys(refs)]))
    for pos, name in zip(_POS, ("noun", "verb", "adj", "adv"), strict=True):
        for line in (source / f"index.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "_" in line.split(" ", 1)[0]:
                continue
            fields = line.split()
            senses = fields[-int(fields[2]) :]
            lines.append(f"L {fields[0]} {pos}:{','.join(str(ids[(pos, o)]) for o in senses)}")
        exc = source / f"{name}.exc"
        if exc.exists():
            for line in exc.read_text(encoding="latin-1").splitlines():
                form, *bases = line.split()
                if "_" not in form:
                    lines.append(f"X {form} {','.join(bases)}")
    merged = _merge_lemmas(lines)
    with gzip.open(target, "wt", encoding="utf-8", compresslevel=9) as f:
        f.write("\n".join(merged) + "\n")


def _merge_lemmas(lines: list[str]) -> list[str]:
    """One L line per lemma (its parts of speech side by side) and one X line per form."""
    out, lemma_at, form_at = [], {}, {}
    for line in lines:
        kind, key, value = (line.split(" ", 2) + [""])[:3] if line[0] in "LX" else (line, "", "")
        if kind == "L" and key in lemma_at:
            out[lemma_at[key]] += " " + value
        elif kind == "X" and key in form_at:
            out[form_at[key]] += "," + value
        else:
            (lemma_at if kind == "L" else form_at)[key] = len(out)
            out.append(line)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "build":
        sys.exit("usage: python -m prosa.cache.semantic.wordnet build WORDNET_DICT_DIR")
    build(Path(sys.argv[2]))
    print(f"wrote {DATA} ({DATA.stat().st_size:,} bytes)")
