"""The gateway's web page in a real headless browser (Debian's chromium driven by playwright)."""

from __future__ import annotations

import shutil
import uuid

import pytest

from tests.servers.gateway_proc import Gateway, start_gateway, wait_until

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="needs Debian's chromium: apt-get install chromium"
)


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory) -> Gateway:
    home = tmp_path_factory.mktemp("gw-web")
    gateway = start_gateway(
        home, "--upstream", scripted_upstream.base_url,
        env={"PROSA_SERVE_STATS_INTERVAL": "0.5", "OPENAI_API_KEY": "sk-k"},
    )  # fmt: skip
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, gw):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(gw.url)
    page.wait_for_selector("#model-list option[value='local']", state="attached")
    yield page
    context.close()
    assert errors == []


def ask(page, text: str, done: int) -> None:
    """Type a question, send it with Enter, and wait for the `done`-th answer to be complete."""
    page.fill("#prompt", text)
    page.press("#prompt", "Enter")
    page.wait_for_selector(f".msg.assistant:nth-of-type({2 * done}) .meta", timeout=60_000)


def test_chat_streams_the_answer_then_marks_the_repeat_cached(page):
    page.fill("#model", "local")
    page.fill("#max-tokens", "24")
    question = f"What is the capital of France? ({uuid.uuid4().hex[:4]})"
    # Count how many times the answer's text changes: a streamed answer is drawn piece by piece.
    page.evaluate("""() => { window.updates = 0;
        new MutationObserver(() => window.updates++).observe(document.getElementById('messages'),
            {subtree: true, childList: true, characterData: true}); }""")
    ask(page, question, 1)
    first = page.locator(".msg.assistant").nth(0)
    assert first.get_attribute("data-cache") == "miss"
    answer = first.locator(".text").inner_text()
    assert answer.strip()
    assert page.evaluate("window.updates") > 3
    meta = first.locator(".meta").inner_text()
    assert "fresh" in meta and "tokens" in meta and "first token" in meta

    page.click("#new-chat")
    ask(page, question, 1)
    again = page.locator(".msg.assistant").nth(0)
    assert again.get_attribute("data-cache") == "hit"
    assert again.locator(".text").inner_text() == answer
    assert "cached" in again.locator(".meta").inner_text()
    page.screenshot(path="/tmp/prosa-web-chat.png")


def test_multi_turn_sends_the_system_prompt_and_history(page):
    page.fill("#model", "echo")
    page.fill("#system", "You are terse.")
    ask(page, "My name is Ada.", 1)
    ask(page, "What is my name?", 2)
    second = page.locator(".msg.assistant").nth(1).locator(".text").inner_text()
    assert second == "messages=4 roles=system,user,assistant,user last=What is my name?"


def test_persona_picker_fills_the_system_prompt(page):
    from prosa.grounding.personas import get_persona

    page.wait_for_selector("#persona option[value='teacher']", state="attached")
    page.select_option("#persona", "teacher")
    assert page.input_value("#system") == get_persona("teacher").system
    page.fill("#model", "echo")
    ask(page, "Explain gravity.", 1)
    answer = page.locator(".msg.assistant").nth(0).locator(".text").inner_text()
    assert answer == "messages=2 roles=system,user last=Explain gravity."


def test_stop_cancels_the_answer_upstream(page, scripted_upstream):
    page.fill("#model", "drip")
    before = scripted_upstream.counts()["cancelled"]
    page.fill("#prompt", f"Count slowly ({uuid.uuid4().hex[:4]})")
    page.press("#prompt", "Enter")
    page.wait_for_function("document.querySelector('.msg.assistant .text').textContent.length > 6")
    page.click("#send")  # it reads "Stop" while an answer is being written
    page.wait_for_selector(".msg.assistant .meta")
    assert "stopped" in page.locator(".msg.assistant .meta").inner_text()
    wait_until(lambda: scripted_upstream.counts()["cancelled"] > before, what="upstream cancelled")


def test_cache_tab_shows_hit_rate_and_savings_over_time(page, gw):
    page.fill("#model", "ok")
    question = f"Cache me ({uuid.uuid4().hex[:4]})"
    ask(page, question, 1)
    page.click("#new-chat")
    ask(page, question, 1)
    page.click("#tab-cache")
    page.wait_for_selector("#cards .card[data-stat='Hit rate']")
    page.wait_for_function("document.querySelectorAll('#chart-rate polyline, #chart-rate rect').length > 1",
                           timeout=15_000)  # fmt: skip
    hits = page.locator("#cards .card[data-stat='Hits'] .value").inner_text()
    assert int(hits.replace(",", "")) >= 1
    assert page.locator("#chart-saved polyline").count() == 1
    page.screenshot(path="/tmp/prosa-web-cache.png")


def test_request_bars_have_their_own_count_axis(page, gw):
    page.fill("#model", "ok")
    ask(page, f"Axis ({uuid.uuid4().hex[:4]})", 1)
    page.click("#tab-cache")
    page.wait_for_function(
        "document.querySelectorAll('#chart-rate .right-axis').length === 3", timeout=15_000
    )
    labels = page.locator("#chart-rate .right-axis").all_text_contents()
    counts = [int(t.replace(",", "")) for t in labels]  # requests per interval, not a percentage
    assert counts[0] == 0 and counts[2] >= 1 and "%" not in "".join(labels)
    legend = page.locator("#chart-rate text").all_text_contents()
    assert any("per interval (right axis)" in t for t in legend)


def test_on_a_phone_the_settings_fold_into_one_line(browser, gw):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(gw.url)
        page.wait_for_selector("#model-list option[value='local']", state="attached")
        toggle = page.locator("#settings-toggle")
        assert toggle.is_visible() and "Settings:" in toggle.inner_text()
        assert not page.locator("#system").is_visible()
        assert page.locator("#settings").bounding_box()["height"] < 844 * 0.15
        assert page.locator("#prompt").is_visible()
        page.screenshot(path="/tmp/prosa-web-phone-closed.png")
        # Nothing in the header is cut off.
        cut = page.evaluate("""() => [...document.querySelectorAll('.bar *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).length""")
        assert cut == 0
        toggle.click()
        assert page.locator("#system").is_visible() and toggle.inner_text() == "Hide settings"
        page.screenshot(path="/tmp/prosa-web-phone.png")
    finally:
        context.close()


def test_a_memory_cache_note_and_no_zero_dollar_headline(browser, tmp_path):
    gw = start_gateway(tmp_path / "gw-memory", "--cache", "memory", env={"PROSA_SERVE_STATS_INTERVAL": "0.5"})
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(gw.url)
        page.wait_for_selector("#model-list option[value='local']", state="attached")
        page.fill("#model", "local")
        page.fill("#max-tokens", "4")
        for _ in range(2):
            page.click("#new-chat")
            ask(page, "Say hi.", 1)
        page.click("#tab-cache")
        page.wait_for_selector("#cards .card[data-stat='Hits']")
        note = page.locator("#cache-note").inner_text()
        assert "this gateway process's memory" in note and "every prosa process" not in note
        stats = page.locator("#cards .card .label").all_text_contents()
        assert "Hits" in stats and "Money saved" not in stats
    finally:
        context.close()
        gw.stop()
