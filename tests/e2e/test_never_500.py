"""Never a 500, never a wrong key: lone surrogates anywhere in a request or an upstream answer, wrong types
for n, and the local model's refusals of what it cannot do, through the gateway and through Client."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from prosa import Client
from prosa.errors import InvalidRequest, ProsaError
from tests.servers.gateway_proc import Gateway, over_scripted, start_gateway
from tests.support import get_json

TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory) -> Gateway:
    gateway = over_scripted(tmp_path_factory.mktemp("gw-never500"), scripted_upstream)
    yield gateway
    gateway.stop()


def raw_post(gw: Gateway, text: str, stream: bool = False, timeout: float = 30) -> httpx.Response:
    """POST a body written by hand, so a JSON escape such as \\ud800 reaches the gateway as written."""
    if stream:
        text = text[:-1] + ',"stream":true}'
    return httpx.post(
        gw.chat_url, content=text.encode(), headers={"content-type": "application/json"}, timeout=30
    )


def echo_body(content: str) -> str:
    """A body for the echo model whose content is written as given (JSON escapes included)."""
    return '{"model":"echo","messages":[{"role":"user","content":"' + content + '"}]}'


def tag() -> str:
    return uuid.uuid4().hex[:8]


def last_body(upstream: Any) -> dict[str, Any]:
    return get_json(f"{upstream.url}/test/last")


def _bodies() -> dict[str, str]:
    t = "%s"  # filled per test, so every test asks its own question
    assistant = (
        '{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",'
        '"function":{"name":"lookup","arguments":"{\\"q\\":\\"a\\ud800b\\"}"}}]}'
    )
    return {
        "content": '{"model":"echo","messages":[{"role":"user","content":"a\\ud800b ' + t + '"}]}',
        "content_part": '{"model":"echo","messages":[{"role":"user","content":[{"type":"text","text":"\\udc00 '
        + t
        + '"}]}]}',
        "tool_argument": '{"model":"echo","messages":[{"role":"user","content":"q '
        + t
        + '"},'
        + assistant
        + ',{"role":"tool","tool_call_id":"call_1","content":"ok"}]}',
        "unknown_field": '{"model":"echo","messages":[{"role":"user","content":"q '
        + t
        + '"}],"chat_template_kwargs":{"x":"\\ud83d"},"top_k_name":"\\udfff"}',
        "known_field": '{"model":"echo","messages":[{"role":"user","content":"q '
        + t
        + '"}],"user":"\\ud800",'
        '"stop":["\\ud800"],"metadata":{"k":"\\ud800"}}',
        "tool_name": '{"model":"echo","messages":[{"role":"user","content":"q '
        + t
        + '"}],"tools":[{"type":"function","function":{"name":"f\\ud800","parameters":{}}}]}',
        "model": '{"model":"echo\\ud800","messages":[{"role":"user","content":"q ' + t + '"}]}',
    }


BODIES = _bodies()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("where", sorted(BODIES))
def test_a_lone_surrogate_anywhere_is_never_a_500(gw, where, stream):
    text = BODIES[where] % tag()
    first = raw_post(gw, text, stream)
    assert first.status_code < 500, first.text
    if first.status_code == 200:
        if stream:
            assert first.text.endswith("data: [DONE]\n\n")
            assert '"error"' not in first.text
        again = raw_post(gw, text, stream)
        assert again.status_code == 200
        assert again.headers["x-prosa-cache"] in ("hit", "bypass")
    else:
        assert first.json()["error"]["message"]


def test_a_lone_surrogate_reaches_the_upstream_as_sent(gw, scripted_upstream):
    t = tag()
    r = raw_post(gw, BODIES["content"] % t)
    assert r.status_code == 200, r.text
    assert last_body(scripted_upstream)["messages"][0]["content"] == f"a\ud800b {t}"
    r = raw_post(gw, BODIES["tool_argument"] % t)
    assert r.status_code == 200, r.text
    sent = last_body(scripted_upstream)["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent) == {"q": "a\ud800b"}


def test_lone_surrogates_never_share_a_key(gw):
    """Distinct texts are distinct entries: a surrogate is not folded into '?' or U+FFFD, nor another one."""
    t = tag()
    variants = ["a\\ud800b", "a\\udc00b", "a?b", "a\\ufffdb", "ab"]
    states = []
    for v in variants:
        r = raw_post(gw, echo_body(f"{v} {t}"))
        assert r.status_code == 200, r.text
        states.append(r.headers["x-prosa-cache"])
    assert states == ["miss"] * len(variants)
    for v in variants:  # each is served its own answer
        r = raw_post(gw, echo_body(f"{v} {t}"))
        assert r.headers["x-prosa-cache"] == "hit"
        assert r.json()["choices"][0]["message"]["content"].endswith("last=" + json.loads(f'"{v}"') + f" {t}")


@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_answer_with_a_lone_surrogate_is_answered_and_cached(gw, stream):
    body = {
        "model": "replay:surrogate",
        "messages": [{"role": "user", "content": f"s {tag()}"}],
        "stream": stream,
    }
    first = httpx.post(gw.chat_url, json=body, timeout=30)
    second = httpx.post(gw.chat_url, json=body, timeout=30)
    for r in (first, second):
        assert r.status_code == 200, r.text
        if stream:
            events = [json.loads(line[6:]) for line in r.text.split("\n\n") if line.startswith("data: {")]
            text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
        else:
            text = r.json()["choices"][0]["message"]["content"]
        assert text == "broken \ud83d emoji"
    assert (first.headers["x-prosa-cache"], second.headers["x-prosa-cache"]) == ("miss", "hit")


@pytest.mark.parametrize("n", ["true", "1.0", "0", "129", '"2"', "null"])
def test_n_of_a_wrong_type_or_range_is_a_400(gw, n):
    r = raw_post(gw, echo_body(f"n {tag()}")[:-1] + f',"n":{n}}}')
    if n == "null":  # null is the same as leaving it out
        assert r.status_code == 200
        return
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "n" and "n must be" in error["message"]


@pytest.mark.parametrize("n", [True, 1.0, 0, 129, "2"])
def test_client_refuses_n_of_a_wrong_type(scripted_upstream, tmp_path, n):
    client = Client(base_url=scripted_upstream.base_url, api_key="k", cache=f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with pytest.raises(InvalidRequest) as caught:
            client.chat("hello", model="echo", n=n)
        assert caught.value.param == "n"
    finally:
        client.close()


def test_client_with_a_lone_surrogate_upstream(scripted_upstream, tmp_path: Path):
    client = Client(base_url=scripted_upstream.base_url, api_key="k", cache=f"sqlite:///{tmp_path / 'c.db'}")
    try:
        question = f"a\ud800b {tag()}"
        first = client.chat(question, model="echo")
        assert first.text.endswith("last=" + question) and first.cached is False
        again = client.chat(question, model="echo")
        assert again.text == first.text and again.cached is True
        assert client.chat(question.replace("\ud800", "\udc00"), model="echo").cached is False
        answer = client.chat(f"s {tag()}", model="replay:surrogate")
        assert answer.text == "broken \ud83d emoji"
        streamed = client.chat(f"s {tag()}", model="replay:surrogate", stream=True)
        assert "".join(c.text for c in streamed) == "broken \ud83d emoji"
    finally:
        client.close()


def test_client_chat_with_a_lone_surrogate_on_the_local_model(tmp_path: Path):
    """Client() with no key uses the local model: it answers, or refuses in one clear line; never a bare
    UnicodeEncodeError. With a cache, the answer is recorded under the question's own key."""
    for cache in (None, f"sqlite:///{tmp_path / 'c.db'}"):
        client = Client() if cache is None else Client(cache=cache)
        try:
            try:
                reply = client.chat("a\ud800", max_tokens=4, temperature=0)
            except ProsaError as e:
                assert "\n" not in str(e) and str(e)
                continue
            assert reply.provider == "local" and reply.finish_reason in ("stop", "length")
            if cache is not None:
                assert client.chat("a\ud800", max_tokens=4, temperature=0).cached is True
                assert client.chat("a\udc00", max_tokens=4, temperature=0).cached is False  # its own key
        finally:
            client.close()


LOCAL_REFUSALS = {
    "tools": ({"tools": [TOOL]}, "tools"),
    "tool_choice": ({"tool_choice": "none"}, "tool_choice"),
    "n": ({"n": 2}, "n"),
    "logprobs": ({"logprobs": True}, "logprobs"),
    "top_logprobs": ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
}
IMAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    }
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", sorted(LOCAL_REFUSALS))
def test_the_local_model_refuses_what_it_cannot_do_via_the_gateway(gw, case, stream):
    extra, param = LOCAL_REFUSALS[case]
    body = {
        "model": "local",
        "messages": [{"role": "user", "content": f"hi {tag()}"}],
        "stream": stream,
        **extra,
    }
    r = httpx.post(gw.chat_url, json=body, timeout=60)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param
    assert "local model" in error["message"] and "\n" not in error["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_the_local_model_refuses_image_parts_via_the_gateway(gw, stream):
    r = httpx.post(gw.chat_url, json={"model": "local", "messages": IMAGE, "stream": stream}, timeout=60)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "messages[0].content[1]"
    assert "image_url" in error["message"] and "local model" in error["message"]


@pytest.mark.parametrize("case", sorted(LOCAL_REFUSALS))
def test_the_local_model_refuses_what_it_cannot_do_via_client(case):
    extra, param = LOCAL_REFUSALS[case]
    client = Client(cache="memory")
    try:
        for stream in (False, True):
            with pytest.raises(InvalidRequest) as caught:
                result = client.chat(f"hi {tag()}", model="local", stream=stream, **extra)
                if stream:
                    list(result)
            assert caught.value.param == param
            assert "local model" in str(caught.value)
        with pytest.raises(InvalidRequest) as caught:
            client.chat(IMAGE, model="local")
        assert caught.value.param == "messages[0].content[1]"
    finally:
        client.close()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("name", ["error_midstream", "error_first"])
def test_an_upstream_error_event_is_a_502_or_an_error_frame_and_never_cached(
    gw, scripted_upstream, name, stream
):
    """OpenAI reports some failures as an error event inside a 200 stream: never a 500, never an entry."""
    body = {
        "model": f"replay:{name}",
        "messages": [{"role": "user", "content": f"e {tag()}"}],
        "stream": stream,
    }
    before = scripted_upstream.count()
    for _ in range(2):
        r = httpx.post(gw.chat_url, json=body, timeout=30)
        if stream and name == "error_midstream":  # the status was sent with the first chunk
            assert r.status_code == 200 and r.headers["x-prosa-cache"] == "miss"
            last = r.text.strip().split("\n\n")[-1]
            assert last.startswith('data: {"error":') and "Sorry about that" in last
        else:
            assert r.status_code == 502, r.text
            assert "Sorry about that" in r.json()["error"]["message"]
    assert scripted_upstream.count() - before == 2  # nothing was cached


@pytest.mark.parametrize("stream", [False, True])
def test_a_usage_chunk_with_null_choices_is_answered_and_cached(gw, scripted_upstream, stream):
    body = {"model": "replay:usage_choices_null", "messages": [{"role": "user", "content": f"u {tag()}"}],
            "stream": stream, "stream_options": {"include_usage": True} if stream else None}  # fmt: skip
    before = scripted_upstream.count()
    for expected in ("miss", "hit"):
        r = httpx.post(gw.chat_url, json=body, timeout=30)
        assert r.status_code == 200, r.text
        assert r.headers["x-prosa-cache"] == expected
        if stream:
            assert r.text.endswith("data: [DONE]\n\n"), r.text[-300:]
        else:
            assert r.json()["choices"][0]["message"]["content"] == "The capital of France is Paris."
            assert r.json()["usage"]["total_tokens"] == 21
    assert scripted_upstream.count() - before == 1


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("name", ["tool_call_not_object", "logprobs_not_object"])
def test_a_malformed_upstream_answer_is_a_502_or_answered_never_a_500(gw, name, stream):
    body = {
        "model": f"replay:{name}",
        "messages": [{"role": "user", "content": f"m {tag()}"}],
        "stream": stream,
    }
    r = httpx.post(gw.chat_url, json=body, timeout=30)
    assert r.status_code in (200, 502), r.text
    assert "internal error" not in r.text


def test_an_absurd_usage_does_not_poison_the_gateway(scripted_upstream, tmp_path):
    """A hit adds the answer's tokens to the saved-tokens counter: a huge count must not break the store."""
    gateway = start_gateway(
        tmp_path / "gw", "--upstream", scripted_upstream.base_url, env={"OPENAI_API_KEY": "k"},
        config="[openai]\nmax_retries = 0\n",
    )  # fmt: skip
    try:
        huge = {"model": "replay:usage_huge", "messages": [{"role": "user", "content": "huge"}]}
        assert httpx.post(gateway.chat_url, json=huge, timeout=30).headers["x-prosa-cache"] == "miss"
        assert httpx.post(gateway.chat_url, json=huge, timeout=30).headers["x-prosa-cache"] == "hit"
        for i in range(3):
            plain = {"model": "replay:text", "messages": [{"role": "user", "content": f"after {i}"}]}
            r = httpx.post(gateway.chat_url, json=plain, timeout=30)
            assert r.status_code == 200, r.text
        assert httpx.get(f"{gateway.url}/metrics", timeout=30).status_code == 200
    finally:
        gateway.stop()


LOCAL_SURROGATES = {
    "content": '"messages":[{"role":"user","content":"a\\ud800b"}]',
    "system": '"messages":[{"role":"system","content":"\\udfff"},{"role":"user","content":"hi \\udc00"}]',
    "user_field": '"messages":[{"role":"user","content":"hi"}],"user":"\\ud800"',
    "stop": '"messages":[{"role":"user","content":"hi"}],"stop":["\\ud800"]',
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("fields", LOCAL_SURROGATES.values(), ids=LOCAL_SURROGATES.keys())
def test_a_lone_surrogate_to_the_local_model_is_never_a_500(gw, fields, stream):
    text = '{"model":"local","max_tokens":3,"temperature":0,' + fields + "}"
    r = raw_post(gw, text, stream, timeout=300)  # the local model loads on first use, on a busy machine
    assert r.status_code < 500, r.text
    if r.status_code == 200 and stream:
        assert r.text.endswith("data: [DONE]\n\n"), r.text[-300:]


def test_client_local_model_stop_with_a_lone_surrogate():
    client = Client(cache="memory")
    try:
        try:
            reply = client.chat("hi", model="local", max_tokens=3, temperature=0, stop=["a\ud800"])
        except ProsaError as e:  # a clear refusal is fine too
            assert str(e) and "\n" not in str(e)
        else:
            assert reply.provider == "local"
    finally:
        client.close()
