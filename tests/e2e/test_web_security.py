"""Browser safety in a real browser (issue 13): another origin's page cannot use the gateway, a listed
origin can (CORS with preflight), DNS rebinding is refused, and the gateway's own page keeps working."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx
import pytest

from tests.e2e.test_web import ARGS, CHROMIUM
from tests.servers.gateway_proc import Gateway, start_gateway
from tests.support import free_port, stop_process, wait_http

ATTACK = """<!doctype html><title>another site</title><script>
const GW = new URLSearchParams(location.search).get("gw");
const body = JSON.stringify({model: "ok", messages: [{role: "user", content: "spend their key " + Math.random()}]});
async function attempt(name, run) {
  try { const r = await run(); window.results[name] = {status: r.status, type: r.type,
        cache: r.headers.get("x-prosa-cache"), text: r.type === "opaque" ? "" : await r.text()}; }
  catch (e) { window.results[name] = {error: String(e)}; }
}
window.results = {};
window.done = (async () => {
  await attempt("json", () => fetch(GW + "/v1/chat/completions",
                {method: "POST", headers: {"Content-Type": "application/json"}, body}));
  await attempt("simple", () => fetch(GW + "/v1/chat/completions",
                {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body}));
  await attempt("stats", () => fetch(GW + "/prosa/stats"));
  return true;
})();
</script>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Another web site: a static server on its own port (http://127.0.0.1:P and http://localhost:P)."""
    root = tmp_path_factory.mktemp("site")
    (root / "attack.html").write_text(ATTACK)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/attack.html", proc, timeout=30)
    yield port
    stop_process(proc)


@pytest.fixture(scope="module")
def gw(site, scripted_upstream, tmp_path_factory) -> Gateway:
    # Pages from http://localhost:<site> may call it; pages from http://127.0.0.1:<site> may not.
    gateway = start_gateway(
        tmp_path_factory.mktemp("gw-sec"), "--upstream", scripted_upstream.base_url, "--cache", "memory",
        "--cors-origin", f"http://localhost:{site}", env={"OPENAI_API_KEY": "sk-k"},
    )  # fmt: skip
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # evil.test resolves to this machine, as an attacker's DNS would after a rebinding.
        launched = p.chromium.launch(
            executable_path=CHROMIUM, args=[*ARGS, "--host-resolver-rules=MAP evil.test 127.0.0.1"]
        )
        yield launched
        launched.close()


def run_attack(browser, page_url: str) -> dict:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(page_url)
        page.evaluate("window.done")
        return page.evaluate("window.results")
    finally:
        context.close()


def test_another_origins_page_cannot_call_the_gateway(browser, gw, site, scripted_upstream):
    before, refused = scripted_upstream.count(), gw.metric('prosa_gateway_requests_total{status="403"}')
    results = run_attack(browser, f"http://127.0.0.1:{site}/attack.html?gw={gw.url}")
    assert "Failed to fetch" in results["json"]["error"]  # the preflight was refused
    assert results["simple"]["type"] == "opaque"  # sent without a preflight: the gateway refused it
    assert "Failed to fetch" in results["stats"]["error"]
    assert scripted_upstream.count() == before  # the upstream key was never spent
    assert gw.metric('prosa_gateway_requests_total{status="403"}') >= refused + 3


def test_a_listed_origin_gets_cors_answers(browser, gw, site, scripted_upstream):
    before = scripted_upstream.count()
    results = run_attack(browser, f"http://localhost:{site}/attack.html?gw={gw.url}")
    assert results["json"]["status"] == 200 and results["json"]["cache"] == "miss"  # exposed header
    assert "chat.completion" in results["json"]["text"]
    assert results["stats"]["status"] == 200
    assert results["simple"]["type"] == "opaque"  # text/plain is still never acted on (415)
    assert scripted_upstream.count() == before + 1
    preflight = httpx.options(gw.chat_url, headers={"Origin": f"http://localhost:{site}",
                              "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == f"http://localhost:{site}"
    assert "x-prosa-namespace" in preflight.headers["access-control-allow-headers"]


def test_dns_rebinding_is_refused(browser, gw):
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"http://evil.test:{gw.port}/")
        assert response.status == 421
        assert "--allowed-host evil.test" in page.content()
    finally:
        context.close()
    r = httpx.post(gw.chat_url, json={"model": "ok", "messages": [{"role": "user", "content": "x"}]},
                   headers={"Host": "evil.test"})  # fmt: skip
    assert r.status_code == 421 and r.json()["error"]["code"] == "misdirected_request"


def test_the_gateways_own_page_still_works(browser, gw):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(gw.url)
        page.fill("#model", "ok")
        page.fill("#prompt", f"Hello from my own page ({uuid.uuid4().hex[:6]})")
        page.press("#prompt", "Enter")
        page.wait_for_selector(".msg.assistant .meta", timeout=60_000)
        assert page.locator(".msg.assistant .text").inner_text() == "one two three four five"
    finally:
        context.close()


def test_the_page_says_when_a_key_is_needed(browser, scripted_upstream, tmp_path):
    gw = start_gateway(tmp_path / "gw-key", "--upstream", scripted_upstream.base_url, "--api-key", "page-key-1",
                       "--cache", "memory", env={"OPENAI_API_KEY": "sk-k"})  # fmt: skip
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(gw.url)
        page.wait_for_selector(".msg.error")
        assert "needs an access key" in page.locator(".msg.error").inner_text()
        page.fill("#model", "ok")
        page.fill("#prompt", "Hello?")
        page.press("#prompt", "Enter")  # no key yet: it says so (once), and keeps the question
        assert page.locator(".msg.error").count() == 1 and page.input_value("#prompt") == "Hello?"
        page.fill("#key", "page-key-1")
        page.dispatch_event("#key", "change")
        page.press("#prompt", "Enter")
        page.wait_for_selector(".msg.assistant .meta", timeout=60_000)
        assert page.locator(".msg.assistant .text").inner_text() == "one two three four five"
    finally:
        context.close()
        gw.stop()


def test_json_is_required_and_curl_like_clients_are_unaffected(gw):
    body = '{"model": "ok", "messages": [{"role": "user", "content": "plain"}]}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": ctype} if ctype else {}
        r = httpx.post(gw.chat_url, content=body, headers=headers)
        assert r.status_code == 415 and "Content-Type: application/json" in r.json()["error"]["message"]
    ok = httpx.post(gw.chat_url, content=body, headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


def test_the_cache_tab_filters_by_tenant(browser, scripted_upstream, tmp_path):
    from tests.support import run_prosa

    keys_file, keys = tmp_path / "keys.toml", {}
    for name, extra in (("team-a", []), ("team-b", []), ("ops", ["--admin"])):
        keys[name] = run_prosa("gateway-key", "create", name, "--keys", str(keys_file), *extra).stdout.strip()
    gw = start_gateway(tmp_path / "gw-tabs", "--upstream", scripted_upstream.base_url, "--keys", str(keys_file),
                       env={"OPENAI_API_KEY": "sk-k", "PROSA_SERVE_STATS_INTERVAL": "0.5"})  # fmt: skip
    body = {"model": "ok", "messages": [{"role": "user", "content": "Counted for team-a"}]}
    for _ in range(3):
        httpx.post(gw.chat_url, json=body, headers={"Authorization": f"Bearer {keys['team-a']}"}, timeout=30)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(gw.url)
        page.fill("#key", keys["ops"])
        page.dispatch_event("#key", "change")
        page.click("#tab-cache")
        page.wait_for_selector("#tenant-filter option[value='team-b']", state="attached")

        def hits_for(name: str) -> str:
            page.select_option("#tenant-filter", name)
            page.wait_for_function(
                f"document.querySelector('#cache-note').textContent.includes('Tenant {name}')"
            )
            return page.locator("#cards .card[data-stat='Hits'] .value").inner_text()

        assert hits_for("team-a") == "2" and hits_for("team-b") == "0"
    finally:
        context.close()
        gw.stop()
    assert not any(key in gw.log() for key in keys.values())
