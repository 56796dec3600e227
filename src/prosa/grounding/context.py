"""Grounding a request: a persona's defaults, and data placed in the system message within a token budget.

budget = the model's context window - max_tokens (or an answer reserve) - the conversation.
All the data goes in when it fits, in order. When it does not, it is indexed with FTS5 and the pieces
that BM25 ranks best against the question go in until the budget is full, each with its label.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .._record import Record
from ..errors import InvalidRequest
from ..request import ChatRequest, Message, PromptInput, canonical_model
from .personas import apply_persona, resolve_persona
from .readers import Piece
from .retrieval import Hit, PieceIndex, query_words
from .source_base import Source
from .sources import as_sources
from .tokens import PER_MESSAGE, ByteBound, Tokenizer, context_window, tokenizer_for

log = logging.getLogger("prosa.grounding")

INSTRUCTION = (
    "Answer from the data below. Every piece of data starts with its source label in square brackets; "
    "cite the labels your answer rests on, like [{example}]. If the data does not hold the answer, say so."
)
# Room kept for the answer when max_tokens is not set (at most a quarter of the window).
ANSWER_RESERVE = 1024
# Tokens kept free for what per-piece counting cannot see (merges across joins, template quirks).
SAFETY = 16
# Packing gives up after this many candidates in a row that do not fit, or this many in all.
MAX_MISSES = 500
MAX_CANDIDATES = 20_000
# A ranked hit less than this share as relevant as the best one is left out: a word found in every
# row (like "product" in a product table) would otherwise fill the budget with noise.
RELATIVE_FLOOR = 0.05


class Context(Record):
    """The data block for the system message, and what went into it."""

    __slots__ = ("text", "mode", "sent", "total", "tokens", "labels")

    def __init__(
        self, text: str, mode: str, sent: int, total: int | None, tokens: int, labels: list[str]
    ) -> None:
        self.text, self.tokens, self.labels = text, tokens, labels
        # "all", "ranked" (best BM25 matches) or "leading" (nothing matched: the first pieces)
        self.mode = mode
        self.sent = sent
        self.total = total  # pieces in the given data; None when a knowledge base was searched


class Report(Record):
    """What grounding did to a request (shown by --dry-run and the debug log)."""

    __slots__ = ("model", "persona", "tokenizer", "window", "budget", "context")

    def __init__(
        self,
        model: str,
        persona: str | None = None,
        tokenizer: str | None = None,
        window: int | None = None,
        budget: int | None = None,
        context: Context | None = None,
    ) -> None:
        self.model, self.persona, self.context = model, persona, context
        self.tokenizer, self.window, self.budget = tokenizer, window, budget

    def summary(self) -> str:
        ctx = self.context
        if ctx is None:
            return f"model {self.model}" + (f", persona {self.persona}" if self.persona else "") + ", no data"
        of = f" of {ctx.total}" if ctx.total is not None else ""
        how = {
            "all": "all of the data",
            "ranked": "ranked by relevance",
            "leading": "nothing matched: the first",
        }
        return (
            f"model {self.model}: {ctx.sent}{of} pieces of data ({how[ctx.mode]}), {ctx.tokens} of {self.budget} "
            f"tokens left by a {self.window}-token window ({self.tokenizer} count)"
        )


def _line(piece: Piece) -> str:
    return f"[{piece.label}] {piece.text}"


def _heading(group: str, header: str | None, sent: int, total: int | None, mode: str) -> str:
    text = f"## {group}" + (f" ({header})" if header else "")
    unit = "rows" if header else "parts"
    if mode == "ranked":
        text += f": {sent} of {total} {unit}, the most relevant" if total else ": the most relevant passages"
    elif total is not None and sent < total:
        text += f": the first {sent} of {total} {unit}"
    return text


def render(chosen: Sequence[Hit], headers: dict[str, str], totals: dict[str, int], mode: str) -> str:
    """The data block: the instruction, then each group's heading and its labelled pieces, in source order."""
    ordered = sorted(chosen, key=lambda h: h.order)
    sent = Counter(h.piece.group for h in ordered)
    example = ordered[0].piece.label if ordered else "file.csv:2"
    lines = [INSTRUCTION.format(example=example), "", "<data>"]
    group = None
    for hit in ordered:
        if hit.piece.group != group:
            group = hit.piece.group
            lines.append(_heading(group, headers.get(group), sent[group], totals.get(group), mode))
        lines.append(_line(hit.piece))
    if not ordered:
        lines.append("(no passage matches the question)")
    lines.append("</data>")
    return "\n".join(lines)


def _pack(hits: Iterable[Hit], avail: int, tok: Tokenizer, headers: dict[str, str]) -> list[Hit]:
    """Greedy: the best hits that fit, skipping any too big for what is left."""
    chosen: list[Hit] = []
    groups: set[str] = set()
    used = misses = 0
    for hit in itertools.islice(hits, MAX_CANDIDATES):
        cost = tok.count(_line(hit.piece)) + 1
        if hit.piece.group not in groups:
            cost += (
                tok.count(_heading(hit.piece.group, headers.get(hit.piece.group), 99999, 99999, "ranked")) + 1
            )
        if used + cost > avail:
            misses += 1
            if misses >= MAX_MISSES or avail - used < 8:
                break
            continue
        misses = 0
        used += cost
        groups.add(hit.piece.group)
        chosen.append(hit)
    return chosen


def build_context(
    sources: Sequence[Source],
    kbs: Sequence[Any],
    question: str,
    budget: int,
    tok: Tokenizer,
    give_up: bool = False,
) -> Context | None:
    """The data block within ``budget`` tokens; with ``give_up``, None as soon as the data does not fit."""
    avail = budget - tok.count(INSTRUCTION.format(example="x" * 24)) - 8
    if avail <= 0:
        return None
    totals: Counter[str] = Counter()

    def counted() -> Iterator[Piece]:
        for source in sources:
            for piece in source.pieces():
                totals[piece.group] += 1
                yield piece

    stream = counted()
    headers: dict[str, str] = {}
    index: PieceIndex | None = None
    try:
        if not kbs:
            kept, overflow = _take_in_order(stream, avail, tok, sources)
            if overflow is None:
                for source in sources:
                    headers.update(source.headers)
                return _finish(kept, "all", headers, totals, budget, tok, sum(totals.values()))
            if give_up:
                return None
            index = PieceIndex()
            index.add(itertools.chain((h.piece for h in kept), [overflow], stream))
        elif sources:
            index = PieceIndex()
            index.add(stream)
        for source in sources:
            headers.update(source.headers)
        for kb in kbs:
            headers.update(kb.headers())
        words = query_words(question)
        chosen: list[Hit] = []
        mode = "ranked"
        if words:
            streams = [index.search(words)] if index is not None else []
            streams += [kb.hits(words, origin) for origin, kb in enumerate(kbs, 1)]
            chosen = _pack(_round_robin([_floored(s) for s in streams]), avail, tok, headers)
        if not chosen and index is not None:
            chosen, mode = _pack(index.scan(), avail, tok, headers), "leading"
        total = sum(totals.values()) if not kbs else None
        return _finish(chosen, mode, headers, totals, budget, tok, total)
    finally:
        stream.close()
        if index is not None:
            index.close()


def _floored(hits: Iterator[Hit]) -> Iterator[Hit]:
    """Hits until one is less than RELATIVE_FLOOR as relevant as the first (BM25: lower is better)."""
    floor = None
    for hit in hits:
        if floor is None:
            floor = hit.score * RELATIVE_FLOOR
        elif hit.score > floor:
            return
        yield hit


def _round_robin(streams: list[Iterator[Hit]]) -> Iterator[Hit]:
    """The best of each source in turn: BM25 scores of different indexes are not comparable."""
    sentinel = object()
    for group in itertools.zip_longest(*streams, fillvalue=sentinel):
        yield from (h for h in group if h is not sentinel)  # type: ignore[misc]


def _take_in_order(
    stream: Iterator[Piece], avail: int, tok: Tokenizer, sources: Sequence[Source]
) -> tuple[list[Hit], Piece | None]:
    """Pieces in order while they fit; the first one that does not is returned (it is not lost)."""
    kept: list[Hit] = []
    groups: set[str] = set()
    used = 0
    for i, piece in enumerate(stream):
        cost = tok.count(_line(piece)) + 1
        if piece.group not in groups:
            # A table's header is read before its first row, so it is known here.
            header = next((s.headers[piece.group] for s in sources if piece.group in s.headers), None)
            cost += tok.count(_heading(piece.group, header, 0, None, "all")) + 1
        if used + cost > avail:
            return kept, piece
        used += cost
        groups.add(piece.group)
        kept.append(Hit(0.0, (0, i), piece))
    return kept, None


def _finish(
    chosen: list[Hit],
    mode: str,
    headers: dict[str, str],
    totals: dict[str, int],
    budget: int,
    tok: Tokenizer,
    total: int | None,
) -> Context:
    """Render, count the whole block once more, and drop the lowest-ranked pieces until it fits."""
    if not chosen and total:
        raise InvalidRequest(
            f"none of the data fits in the {budget} tokens left for it; lower --max-tokens, shorten the "
            "question, or use a model with a larger context window"
        )
    while True:
        text = render(chosen, headers, totals, mode)
        tokens = tok.count(text)
        if tokens <= budget or not chosen:
            break
        # The list is in rank order: drop the least relevant pieces, about as many tokens as are over.
        excess, dropped = tokens - budget, 0
        while chosen and dropped < excess:
            dropped += tok.count(_line(chosen.pop().piece)) + 1
        if mode == "all":
            mode = "leading"
    labels = [h.piece.label for h in sorted(chosen, key=lambda h: h.order)]
    return Context(text, mode, len(chosen), total, tokens, labels)


def ground(
    client: Any,
    prompt: PromptInput,
    model: str | None,
    params: dict[str, Any],
    persona: Any = None,
    data: Any = None,
) -> tuple[ChatRequest, Report]:
    """The request to send: the persona's defaults under explicit parameters, and the data in a system message.

    ``client`` is a Client or AsyncClient (for its default model and providers).
    """
    found = resolve_persona(persona) if persona is not None else None
    params = apply_persona(found, params, prompt)
    name = canonical_model(model or (found.model if found else None) or client.default_model())
    request = ChatRequest.build(prompt, model=name, **params)
    report = Report(name, found.name if found else None)
    items = as_sources(data) if data is not None else []
    if not items:
        return request, report
    sources = [i for i in items if isinstance(i, Source)]
    kbs = [i for i in items if not isinstance(i, Source)]
    provider = client.provider_for(name)
    window = context_window(provider, name)
    reserve = request.max_tokens or min(ANSWER_RESERVE, window // 4)
    question = request.question
    adds_message = request.messages[0].role != "system"

    def attempt(tok: Tokenizer, give_up: bool) -> tuple[Context | None, int]:
        conversation = sum(tok.count(m.text) + PER_MESSAGE for m in request.messages) + 3
        budget = window - reserve - conversation - SAFETY - (PER_MESSAGE if adds_message else 2)
        if budget <= 0 and not give_up:
            raise InvalidRequest(
                f"the conversation and max_tokens ({reserve}) leave no room for data in {name}'s "
                f"{window}-token context window; lower --max-tokens or shorten the conversation"
            )
        return (build_context(sources, kbs, question, budget, tok, give_up) if budget > 0 else None), budget

    ctx: Context | None = None
    tok: Tokenizer = ByteBound()
    if not kbs:
        # Bytes bound tokens from above: data that fits by bytes needs no tokenizer (nor llama.cpp) at all.
        ctx, budget = attempt(tok, True)
    if ctx is None:
        tok = tokenizer_for(provider, name)
        ctx, budget = attempt(tok, False)
    assert ctx is not None
    report.tokenizer, report.window, report.budget, report.context = tok.name, window, budget, ctx
    log.debug("grounding: %s", report.summary())
    messages = list(request.messages)
    if adds_message:
        messages.insert(0, Message("system", ctx.text))
    else:
        messages[0] = Message("system", f"{messages[0].text}\n\n{ctx.text}")
    return request.with_messages(tuple(messages)), report
