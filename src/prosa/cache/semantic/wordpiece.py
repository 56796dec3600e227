"""BERT's uncased WordPiece tokenizer in plain Python, read from the model's own ``vocab.txt``.

It follows Hugging Face's ``BertTokenizer`` (lowercase, strip accents, split on punctuation and
around CJK characters, then greedy longest-match WordPiece), so the ids match the ones the model
was trained on without the ``tokenizers`` or ``transformers`` packages.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

CLS, SEP, UNK = "[CLS]", "[SEP]", "[UNK]"
_MAX_WORD_CHARS = 100  # BERT gives up on longer "words" (a URL, a base64 blob): one [UNK]


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # BERT counts every non-alphanumeric ASCII symbol as punctuation ("$", "^", "`"...), not only Unicode P*.
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def basic_words(text: str) -> list[str]:
    """Clean, lowercase, strip accents and split into words and single punctuation marks."""
    chars: list[str] = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        cat = unicodedata.category(ch)
        if ch in "\t\n\r" or cat == "Zs":
            chars.append(" ")
        elif cat.startswith("C"):
            continue  # control and format characters are dropped, as BERT does
        elif _is_cjk(cp):
            chars.append(f" {ch} ")
        else:
            chars.append(ch)
    words: list[str] = []
    for raw in "".join(chars).lower().split():
        word = "".join(c for c in unicodedata.normalize("NFD", raw) if unicodedata.category(c) != "Mn")
        current: list[str] = []
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(ch)
            else:
                current.append(ch)
        if current:
            words.append("".join(current))
    return words


class WordPiece:
    """Text -> token ids for an uncased BERT vocabulary."""

    def __init__(self, vocab_path: Path) -> None:
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab: dict[str, int] = {line.rstrip("\n"): i for i, line in enumerate(f)}
        self.cls, self.sep, self.unk = self.vocab[CLS], self.vocab[SEP], self.vocab[UNK]
        # Words repeat a lot across questions; the cache makes tokenizing a question ~5x faster.
        self._word = lru_cache(maxsize=65536)(self._pieces)

    def _pieces(self, word: str) -> tuple[int, ...]:
        if len(word) > _MAX_WORD_CHARS:
            return (self.unk,)
        vocab = self.vocab
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unk,)  # one unknown piece makes the whole word unknown, as in BERT
            out.append(found)
            start = end
        return tuple(out)

    def ids(self, text: str, max_length: int) -> list[int]:
        """[CLS] pieces... [SEP], truncated to ``max_length`` ids in all."""
        pieces: list[int] = []
        for word in basic_words(text):
            pieces.extend(self._word(word))
        return [self.cls, *pieces[: max_length - 2], self.sep]

    def count(self, text: str) -> int:
        """How many word pieces ``text`` has (without [CLS]/[SEP] and without truncation)."""
        return sum(len(self._word(word)) for word in basic_words(text))
