"""Context building: everything when it fits, the best-ranked pieces within the budget when not, labels right."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from prosa import Client
from prosa.errors import InvalidRequest
from prosa.grounding import FileSource, SQLiteSource, TextSource, build_context, ground
from prosa.grounding import tokens as tokens_module
from prosa.grounding.tokens import ByteBound, EstimateTokenizer, context_window
from tests.grounding.helpers import REAL_TIKTOKEN_ENCODING, make_products_csv, make_shop_db, product_name

EST = EstimateTokenizer()


def labels_in(text: str) -> list[str]:
    return re.findall(r"^\[([^\]]+)\]", text, flags=re.M)


def test_everything_goes_in_when_it_fits(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 5)
    ctx = build_context([FileSource(csv), TextSource("Shop opens at 9.", name="hours")], [], "q", 2000, EST)
    assert ctx is not None and ctx.mode == "all" and ctx.sent == ctx.total == 6
    assert labels_in(ctx.text) == [f"products.csv:{n}" for n in range(2, 7)] + ["hours:1"]
    assert "## products.csv (columns: id,name,price,category)" in ctx.text
    assert "cite the labels" in ctx.text and "[products.csv:2]" in ctx.text
    assert f"[products.csv:4] 3,{product_name(3)},11.10,kitchen" in ctx.text


@pytest.mark.parametrize("budget", [300, 1500, 6000])
def test_one_product_in_ten_thousand_rows(tmp_path: Path, budget: int):
    csv = make_products_csv(tmp_path / "products.csv", 10_000)
    question = f"What does the {product_name(7342)} cost?"
    ctx = build_context([FileSource(csv)], [], question, budget, EST)
    assert ctx is not None and ctx.mode == "ranked" and ctx.total == 10_000
    assert 0 < ctx.sent < 10_000
    assert EST.count(ctx.text) == ctx.tokens <= budget
    # The row of product 7342 is line 7343 of the file (the header is line 1), and is in the context.
    assert "products.csv:7343" in labels_in(ctx.text)
    assert "[products.csv:7343] 7342,Model7342 Gadget,65.40,garden" in ctx.text
    assert f"{ctx.sent} of 10000 rows, the most relevant" in ctx.text


def test_budget_is_respected_for_every_size(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 2_000)
    for budget in (120, 250, 700, 3000, 20_000):
        ctx = build_context([FileSource(csv)], [], "gadget garden tools", budget, EST)
        assert ctx is not None and ctx.tokens <= budget and EST.count(ctx.text) == ctx.tokens


def test_pieces_come_back_in_source_order(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 500)
    ctx = build_context([FileSource(csv)], [], "Model400 Model12 Model250", 400, EST)
    lines = [int(label.split(":")[1]) for label in labels_in(ctx.text)]
    assert lines[:3] == [13, 251, 401] or lines == sorted(lines)
    assert {13, 251, 401} <= set(lines)


def test_no_matching_words_sends_the_first_pieces(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 1000)
    ctx = build_context([FileSource(csv)], [], "what is this?", 300, EST)
    assert ctx.mode == "leading"
    labels = labels_in(ctx.text)
    assert labels[0] == "products.csv:2" and labels == [
        f"products.csv:{n}" for n in range(2, 2 + len(labels))
    ]
    assert f"the first {ctx.sent} of 1000 rows" in ctx.text


def test_bytes_bound_gives_up_instead_of_ranking(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 1000)
    assert build_context([FileSource(csv)], [], "q", 500, ByteBound(), give_up=True) is None


def test_nothing_fits(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 380)  # one piece of ~400 tokens
    with pytest.raises(InvalidRequest, match="none of the data fits"):
        build_context([FileSource(path)], [], "word", 150, EST)


def test_several_sources_and_sqlite(tmp_path: Path):
    db = make_shop_db(tmp_path / "shop.db")
    md = tmp_path / "policy.md"
    md.write_text("# Returns\n\nReturns are accepted within 30 days.\n")
    ctx = build_context([SQLiteSource(db, table="orders"), FileSource(md)], [], "returns", 4000, EST)
    assert ctx.mode == "all"
    assert "## shop.db:orders (columns: id,product_id,qty)" in ctx.text
    assert "[shop.db:orders:1] 1,2,2" in ctx.text and "[policy.md:1] # Returns" in ctx.text


def test_estimate_is_close_to_a_real_tokenizer():
    text = Path(__file__).read_text()
    # A BPE tokenizer spends roughly 3-4 bytes a token on code and prose like this file.
    assert len(text.encode()) / 5 < EST.count(text) < len(text.encode()) / 2


def test_context_windows(monkeypatch: pytest.MonkeyPatch):
    class Remote:
        kind = "openai"

    class Local:
        kind = "local"
        n_ctx = 4096

    assert context_window(Remote(), "gpt-4o-mini", {}) == 128_000
    assert context_window(Remote(), "gpt-4.1-mini", {}) == 1_047_576
    assert context_window(Remote(), "llama3:8b", {}) == 8192
    assert context_window(Remote(), "llama3:8b", {"context_windows": {"llama3:8b": 32768}}) == 32768
    assert context_window(Remote(), "gpt-4o", {"max_context_tokens": 5000}) == 5000
    assert context_window(Local(), "local", {}) == 4096


def test_tiktoken_unavailable_falls_back_to_the_estimate(monkeypatch: pytest.MonkeyPatch):
    import tiktoken

    # The real _tiktoken_encoding, with tiktoken's loader made to fail, then to hang.
    monkeypatch.setattr(tokens_module, "_tiktoken_encoding", REAL_TIKTOKEN_ENCODING)
    monkeypatch.setattr(tokens_module, "_encodings", {})

    def offline(name: str):
        raise ConnectionError("no network")

    monkeypatch.setattr(tiktoken, "get_encoding", offline)

    class Remote:
        kind = "openai"

    assert isinstance(tokens_module.tokenizer_for(Remote(), "gpt-4o-mini"), EstimateTokenizer)
    monkeypatch.setattr(tokens_module, "_encodings", {})
    monkeypatch.setattr(tokens_module, "TIKTOKEN_TIMEOUT", 0.05)
    monkeypatch.setattr(tiktoken, "get_encoding", lambda name: time.sleep(2))
    assert isinstance(tokens_module.tokenizer_for(Remote(), "gpt-4o"), EstimateTokenizer)
    assert isinstance(tokens_module.tokenizer_for(Remote(), "my-vllm-model"), EstimateTokenizer)


def test_ground_puts_data_in_the_system_message_and_the_cache_key_follows_it(tmp_path: Path):
    csv = make_products_csv(tmp_path / "products.csv", 3)
    client = Client(model="gpt-4o-mini", cache="memory")
    call = client.prepare("Cheapest?", None, {}, False, True, data=[csv])
    system, user = call.request.messages
    assert system.role == "system" and "[products.csv:2]" in system.content and user.content == "Cheapest?"
    same = client.prepare("Cheapest?", None, {}, False, True, data=[csv])
    assert same.key == call.key
    csv.write_text(csv.read_text().replace("11.10", "11.20"))
    changed = client.prepare("Cheapest?", None, {}, False, True, data=[csv])
    assert changed.key != call.key
    plain = client.prepare("Cheapest?", None, {}, False, True)
    assert plain.key != call.key and len(plain.request.messages) == 1


def test_ground_merges_into_an_existing_system_message(tmp_path: Path):
    csv = make_products_csv(tmp_path / "p.csv", 2)
    client = Client(model="gpt-4o-mini", cache=None)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    request, report = ground(client, messages, None, {}, data=str(csv))
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.messages[0].content.startswith("Be brief.\n\nAnswer from the data below.")
    assert report.context.mode == "all" and report.tokenizer == "bytes"


def test_ground_budget_leaves_room_for_the_answer_and_the_conversation(tmp_path: Path, monkeypatch):
    csv = make_products_csv(tmp_path / "products.csv", 3000)
    monkeypatch.setenv("PROSA_CONFIG_DIR", str(tmp_path / "cfg"))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.toml").write_text("[grounding]\nmax_context_tokens = 3000\n")
    client = Client(model="gpt-4o-mini", cache=None)
    question = f"Price of {product_name(2999)}?"
    request, report = ground(client, question, None, {"max_tokens": 500}, data=[csv])
    assert report.window == 3000 and report.tokenizer == "estimate"
    total = sum(EST.count(m.content) + 8 for m in request.messages)
    assert total + 500 <= 3000
    assert "[products.csv:3000] 2999," in request.messages[0].content
    with pytest.raises(InvalidRequest, match="leave no room for data"):
        ground(client, question, None, {"max_tokens": 2990}, data=[csv])


def test_very_common_words_are_left_out_of_big_indexes(monkeypatch: pytest.MonkeyPatch):
    from prosa.grounding import retrieval
    from prosa.grounding.readers import Piece

    index = retrieval.PieceIndex()
    index.add(Piece("g", f"g:{i}", f"common row {i}" + (" rare" if i == 7 else "")) for i in range(300))
    assert retrieval.prune_common(index.conn, ["common", "rare"], index.count) == ["common", "rare"]  # small
    monkeypatch.setattr(retrieval, "COMMON_ROWS", 50)
    assert retrieval.prune_common(index.conn, ["common", "rare"], index.count) == ["rare"]
    assert retrieval.prune_common(index.conn, ["common", "row"], index.count) == [
        "common"
    ]  # the rarest stays
    assert [h.piece.label for h in index.search(["common", "rare"])][:1] == ["g:7"]
    index.close()


def test_every_door_shares_the_grounded_path_and_plain_requests_never_load_it(tmp_path: Path):
    import subprocess
    import sys

    from prosa import AsyncClient

    csv = make_products_csv(tmp_path / "p.csv", 3)
    sync = Client(model="gpt-4o-mini", cache="memory").prepare("Q", None, {}, False, True, data=[csv])
    async_ = AsyncClient(model="gpt-4o-mini", cache="memory").prepare("Q", None, {}, False, True, data=[csv])
    assert sync.key == async_.key and sync.request.messages == async_.request.messages
    code = "import sys, prosa.client, prosa.cli.ask; print('prosa.grounding' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )
