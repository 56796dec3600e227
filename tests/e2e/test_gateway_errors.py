"""`prosa serve` over raw HTTP: every error case in OpenAI's error shape, upstream faults, disconnects,
and concurrent clients, against the scripted upstream (tests/servers/scripted_upstream.py)."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.servers.gateway_proc import Gateway, answer_text, sse_events, start_gateway, wait_until

MAX_BODY = 4000


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory) -> Gateway:
    home = tmp_path_factory.mktemp("gw-scripted")
    gateway = start_gateway(
        home, "--upstream", scripted_upstream.base_url, "--max-body", str(MAX_BODY),
        env={"OPENAI_API_KEY": "sk-gateway-own-key"}, config="[openai]\nmax_retries = 0\ntimeout = 1\n",
    )  # fmt: skip
    yield gateway
    gateway.stop()


def body(model: str = "ok", content: str | None = None, **extra) -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": content or f"q {uuid.uuid4().hex}"}],
        **extra,
    }


def assert_error(r: httpx.Response, status: int, param: str | None = None, contains: str = "") -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] and "\n" not in error["message"]
    if param is not None:
        assert error["param"] == param
    assert contains in error["message"]
    return error


@pytest.mark.parametrize(
    ("change", "param", "message"),
    [
        ({"temperature": 5}, "temperature", "temperature must be between 0 and 2 (got 5)"),
        ({"max_tokens": 0}, "max_tokens", "max_tokens must be an integer >= 1 (got 0)"),
        ({"top_p": 0}, "top_p", "top_p must be greater than 0"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "stop accepts at most 4 strings"),
        ({"seed": "x"}, "seed", "seed must be an integer"),
        ({"presence_penalty": 3}, "presence_penalty", "between -2 and 2"),
        ({"n": 0}, "n", "n must be an integer from 1 to 128 (got 0)"),
        ({"n": True}, "n", "n must be an integer from 1 to 128 (got True)"),
        ({"n": 1.0}, "n", "n must be an integer from 1 to 128 (got 1.0)"),
        ({"n": 129}, "n", "n must be an integer from 1 to 128"),
        ({"tool_choice": "sometimes"}, "tool_choice", "tool_choice must be none, auto, required or an object"),
        ({"logprobs": "yes"}, "logprobs", "logprobs must be true or false"),
        ({"top_logprobs": 21}, "top_logprobs", "top_logprobs must be an integer from 0 to 20"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name", "must be a non-empty string"),
        ({"stream": "yes"}, "stream", "stream must be true or false"),
        ({"model": ""}, "model", "model is required"),
        ({"messages": []}, "messages", "messages is required"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "role must be one of system, developer"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id", "must be a non-empty string"),
        ({"messages": [{"role": "user", "content": "  "}]}, "messages[0].content", "must not be empty"),
        ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": None}]},
         "messages[1].content", "or tool_calls for an assistant turn"),
        ({"messages": [{"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                        "function": {"name": "f"}}]}]}, "messages[0].tool_calls[0].function.arguments", "must be a string"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
         "messages[0].content[0].image_url.url", "must be a non-empty string"),
        ({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
         "messages[0].content[0].type", "a system message takes text parts"),
    ],
)  # fmt: skip
def test_invalid_parameters_are_400_with_the_shared_validation_message(gw, change, param, message):
    r = httpx.post(gw.chat_url, json={**body(), **change})
    error = assert_error(r, 400, param, message)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"null", b"[]", b'"x"', b"\xff\xfe", b"[" * 3000, b'{"model": null}', b'{"model": 3, "messages": []}',
     b'{"model":"ok","messages":"hi"}', b'{"model":"ok","messages":[1]}', b'{"model":"ok","messages":[{"role":"user"}]}',
     b'{"model":"ok","messages":[{"role":"user","content":null}]}',
     b'{"model":"ok","messages":[{"role":"user","content":"x"}],"temperature":NaN}',
     b'{"model":"ok","messages":[{"role":"user","content":"x"}],"temperature":"hot"}',
     b'{"model":"ok","messages":[{"role":"user","content":"x"}],"max_tokens":1e999}',
     b'{"model":"ok","messages":[{"role":"user","content":"x"}],"max_tokens":true}',
     b'{"model":"ok","messages":[{"role":"user","content":"x"}],"stop":[1]}',
     b'{"model":"ok","messages":[{"role":"user","content":"x"}],"tools":"x"}',
     b'{"model":"ok","messages":[{"role":"user","content":"x"}],"response_format":[]}',
     b'{"model":"ok","messages":[{"role":"user","content":"x"}],"stream_options":1}',
     b'{"model":"ok","messages":[{"role":"user","content":[{"type":"text"}]}]}'],
)  # fmt: skip
def test_malformed_bodies_are_4xx_never_500(gw, raw):
    r = httpx.post(gw.chat_url, content=raw, headers={"content-type": "application/json"})
    assert_error(r, 400)


def test_openai_shapes_reach_the_upstream_as_sent(gw):
    extra = {"user": "u1", "metadata": {"a": "b"}, "logprobs": False, "store": False, "n": 1,
             "stream_options": None, "max_completion_tokens": 50, "parallel_tool_calls": True}  # fmt: skip
    messages = [{"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]}]  # fmt: skip
    r = httpx.post(gw.chat_url, json={"model": "echo", "messages": messages, **extra})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "messages=2 roles=developer,user last=Hello there"


def test_unknown_route_and_wrong_method(gw):
    assert_error(httpx.get(f"{gw.url}/v1/nope"), 404, contains="no such route")
    assert_error(httpx.get(gw.chat_url), 405, contains="method not allowed")


def test_body_over_the_limit_is_413_declared_or_chunked(gw):
    big = body(content="x" * (MAX_BODY + 10))
    assert_error(httpx.post(gw.chat_url, json=big), 413, contains=f"over {MAX_BODY} bytes")

    def chunks():
        for _ in range(10):
            yield b" " * 1000  # no Content-Length: the limit is enforced while reading

    r = httpx.post(gw.chat_url, content=chunks(), headers={"content-type": "application/json"})
    assert_error(r, 413)


@pytest.mark.parametrize(
    ("model", "status", "kind"),
    [("status-429", 429, "rate_limit_error"), ("status-500", 500, "server_error"),
     ("status-503", 503, "server_error"), ("status-404", 404, "invalid_request_error"),
     ("status-400", 400, "invalid_request_error"), ("status-401", 502, "upstream_error"),
     ("slow", 504, "timeout_error")],
)  # fmt: skip
def test_upstream_failures_keep_their_status_and_message(gw, model, status, kind, scripted_upstream):
    for stream in (False, True):  # a stream waits for its first chunk before answering 200
        r = httpx.post(gw.chat_url, json=body(model, stream=stream), timeout=30)
        error = assert_error(r, status)
        assert error["type"] == kind
        if model.startswith("status-") and status != 502:
            assert f"scripted failure {status}" in error["message"]
    assert "sk-gateway-own-key" not in gw.log()


def test_stream_cut_midway_reports_the_error_in_the_stream_and_caches_nothing(gw):
    b = body("cut", stream=True)
    assert_error(
        httpx.post(gw.chat_url, json={**b, "stream": False}, timeout=30), 502, contains="cut mid-answer"
    )
    before = gw.metric('prosa_gateway_cache_total{result="miss"}')
    r = httpx.post(gw.chat_url, json=b, timeout=30)
    if r.status_code == 200:  # the cut came after the first chunk
        events = sse_events(r.text.splitlines())
        assert events[-1]["error"]["type"] == "upstream_error"
        assert "data: [DONE]" not in r.text
    else:
        assert_error(r, 502)
    assert httpx.post(gw.chat_url, json=b, timeout=30).status_code in (200, 502)
    assert gw.metric('prosa_gateway_cache_total{result="miss"}') - before == 2  # never a hit


def test_stream_is_sent_as_it_arrives(gw, scripted_upstream):
    completed = scripted_upstream.counts()["completed"]
    with httpx.stream("POST", gw.chat_url, json=body("drip", stream=True), timeout=30) as r:
        lines = r.iter_lines()
        first = [
            e for e in sse_events([next(lines) for _ in range(4)]) if e["choices"][0]["delta"].get("content")
        ]
        assert first and first[0]["choices"][0]["delta"]["content"] == " w0"
        assert scripted_upstream.counts()["completed"] == completed  # the upstream is still writing
        rest = list(lines)
    assert rest[-2:] == ["data: [DONE]", ""] or rest[-1] == "data: [DONE]"


def test_disconnect_mid_stream_cancels_upstream_and_caches_nothing(gw, scripted_upstream):
    b = body("drip", stream=True)
    before = scripted_upstream.counts()
    with httpx.Client(timeout=30) as client:
        with client.stream("POST", gw.chat_url, json=b) as r:
            assert r.headers["x-prosa-cache"] == "miss"
            seen = 0
            for line in r.iter_lines():
                seen += '"content":" w' in line
                if seen == 3:
                    break  # leaving the block closes the connection mid-stream
        wait_until(
            lambda: scripted_upstream.counts()["cancelled"] > before["cancelled"], what="upstream cancelled"
        )
        assert scripted_upstream.counts()["completed"] == before["completed"]
        again = client.post(gw.chat_url, json={**b, "stream": False})
        assert again.headers["x-prosa-cache"] == "miss"  # the cut answer was not cached
    assert gw.metric("prosa_gateway_streams_cancelled_total") >= 1


def test_disconnect_while_waiting_for_a_whole_answer_cancels_upstream(gw, scripted_upstream):
    before = scripted_upstream.counts()["cancelled"]
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gw.chat_url, json=body("drip"), timeout=httpx.Timeout(5, read=0.3))
    wait_until(lambda: scripted_upstream.counts()["cancelled"] > before, what="upstream cancelled")


def test_concurrent_clients_get_their_own_answers(gw):
    questions = [f"question number {i}" for i in range(12)]

    def ask(i: int) -> tuple[int, str, str]:
        stream = i % 2 == 1
        r = httpx.post(gw.chat_url, json=body("echo", questions[i], stream=stream), timeout=30)
        text = answer_text(r)
        return r.status_code, r.headers["x-prosa-cache"], text

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(ask, range(12)))
    assert all(status == 200 and state == "miss" for status, state, _ in results)
    assert [text.rsplit("last=", 1)[1] for _, _, text in results] == questions


def test_cache_control_no_cache_refreshes_and_no_store_bypasses(gw, scripted_upstream):
    b = body("ok")

    def post(cache_control: str | None = None, stream: bool = False) -> str:
        headers = {"Cache-Control": cache_control} if cache_control else {}
        r = httpx.post(gw.chat_url, json={**b, "stream": stream}, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return r.headers["x-prosa-cache"]

    before = scripted_upstream.count()
    assert post("no-store") == "bypass"  # neither read nor written
    assert post() == "miss"
    assert post(stream=True) == "hit"
    assert post("no-cache") == "miss"  # asked again, the entry overwritten
    assert post("max-age=0, No-Cache", stream=True) == "miss"
    assert post() == "hit"
    assert post("no-store, no-cache") == "bypass"
    assert scripted_upstream.count() - before == 5


def test_no_store_stream_and_whole_answers_are_bypasses(gw, scripted_upstream):
    b = body("ok")
    before = scripted_upstream.count()
    for stream in (False, True, False):
        r = httpx.post(gw.chat_url, json={**b, "stream": stream}, headers={"Cache-Control": "no-store"})
        assert r.status_code == 200 and r.headers["x-prosa-cache"] == "bypass"
    assert scripted_upstream.count() - before == 3
    assert (
        json.loads(httpx.post(gw.chat_url, json=b).text)["choices"][0]["message"]["content"]
        == "one two three four five"
    )
