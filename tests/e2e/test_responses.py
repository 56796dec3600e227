"""The Responses API through `prosa serve` with the real openai SDK: translated to Chat Completions
(the scripted upstream speaks only that, and so does the local model), cached like chat."""

from __future__ import annotations

import json
import re

import httpx
import openai
import pytest

from tests.servers.gateway_proc import over_scripted, sdk

TOOLS = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]
IDS = re.compile(r"\b(resp|msg|fc|rs)_[0-9a-f]{32}\b")


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory):
    gateway = over_scripted(tmp_path_factory.mktemp("gw-responses"), scripted_upstream)
    yield gateway
    gateway.stop()


def same(obj) -> str:
    """An event or response as JSON (as the server sent it) with its renewed ids and times blanked."""
    text = json.dumps(_unparsed(obj.to_dict()), sort_keys=True)
    return re.sub(r'"created_at": \d+(\.\d+)?', '"created_at": 0', IDS.sub(r"\1_ID", text))


def _unparsed(value):
    """Without the fields the SDK's stream helper adds as it parses (parsed, parsed_arguments)."""
    if isinstance(value, dict):
        return {k: _unparsed(v) for k, v in value.items() if k not in ("parsed", "parsed_arguments")}
    if isinstance(value, list):
        return [_unparsed(v) for v in value]
    return value


def stream(client, **kw):
    """Every event of a streamed response, and the response its last event carries (completed or
    incomplete: the SDK's get_final_response() takes only the first)."""
    with client.responses.stream(**kw) as events:
        seen = list(events)
    assert seen[-1].type in ("response.completed", "response.incomplete")
    return [same(e) for e in seen], seen[-1].response


@pytest.mark.parametrize("model", ["ok", "agent"])
def test_a_hit_replays_the_same_events_and_the_same_whole_response(gw, scripted_upstream, model):
    client = sdk(gw)
    kw = {"model": model, "input": f"weather in Paris {model}", "instructions": "be brief", "tools": TOOLS}
    before = scripted_upstream.count()
    miss_events, miss_final = stream(client, **kw)
    hit_events, hit_final = stream(client, **kw)
    assert scripted_upstream.count() - before == 1
    assert miss_events == hit_events and len(miss_events) >= 6
    assert miss_events[0].count("response.created") and "response.completed" in miss_events[-1]
    whole = client.responses.with_raw_response.create(**kw)
    assert whole.headers["x-prosa-cache"] == "hit" and scripted_upstream.count() - before == 1
    assert same(whole.parse()) == same(hit_final) == same(miss_final)  # the stream's last word is the whole
    assert miss_final.id != hit_final.id  # each answer is its own response
    # A whole miss, then a streamed hit of it: the same record, both ways.
    kw["input"] += " (whole first)"
    whole_miss = client.responses.create(**kw)
    assert same(stream(client, **kw)[1]) == same(whole_miss) and scripted_upstream.count() - before == 2


def test_a_tool_loop_with_previous_response_id_and_stored_responses(gw, scripted_upstream):
    client = sdk(gw)
    first = client.responses.create(model="agent", input="weather in Rome", tools=TOOLS)
    call = first.output[0]
    assert (
        call.type == "function_call"
        and call.name == "lookup"
        and call.arguments == '{"query": "weather in Rome"}'
    )
    second = client.responses.create(
        model="agent", previous_response_id=first.id, tools=TOOLS,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )  # fmt: skip
    assert second.output_text == "Tool said: sunny" and second.previous_response_id == first.id
    sent = scripted_upstream.last()["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]  # the chained conversation
    assert sent[1]["tool_calls"][0]["id"] == call.call_id
    assert client.responses.retrieve(second.id).output_text == "Tool said: sunny"
    unstored = client.responses.create(model="ok", input="do not keep", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)


def test_fields_are_translated_or_refused_by_name(gw, scripted_upstream):
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    sdk(gw).responses.create(
        model="ok", input=[{"role": "user", "content": [{"type": "input_text", "text": "hi"},
                                                       {"type": "input_image", "image_url": "data:image/png;base64,AA"}]}],
        max_output_tokens=20, temperature=0.5, tool_choice="none", tools=TOOLS,
        text={"format": {"type": "json_schema", "name": "out", "schema": schema}},
    )  # fmt: skip
    sent = scripted_upstream.last()
    assert sent["max_tokens"] == 20 and sent["temperature"] == 0.5 and sent["tool_choice"] == "none"
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": schema},
    }
    assert sent["messages"][0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AA"},
    }
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    for body, param in [({"model": "ok", "input": "x", "truncation": "auto"}, "truncation"),
                        ({"model": "ok", "input": [{"type": "web_search_call"}]}, "input[0].type"),
                        ({"model": "ok", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0]"),
                        ({"model": "ok", "input": ""}, "input"), ({"input": "x"}, "model"),
                        ({"model": "ok", "input": "x", "previous_response_id": "resp_nope"}, "previous_response_id")]:  # fmt: skip
        r = httpx.post(f"{gw.base_url}/responses", json=body)
        assert r.status_code in (400, 404), (body, r.text)
        assert r.json()["error"]["param"] == param


def test_the_local_model_answers_the_responses_api(gw):
    client = sdk(gw)
    kw = {"model": "local", "input": "Say hello.", "max_output_tokens": 8, "temperature": 0}
    miss_events, miss = stream(client, **kw)
    hit_events, hit = stream(client, **kw)
    assert miss.output_text and miss_events == hit_events
    assert miss.status in ("completed", "incomplete")  # 8 tokens may cut it: then response.incomplete
    assert same(client.responses.create(**kw)) == same(hit)


@pytest.fixture(scope="module")
def passthrough(scripted_upstream, tmp_path_factory):
    gateway = over_scripted(
        tmp_path_factory.mktemp("gw-responses-pass"), scripted_upstream, "--responses", "passthrough"
    )
    yield gateway
    gateway.stop()


def test_an_upstream_that_speaks_responses_is_passed_through_and_cached(passthrough, scripted_upstream):
    from pathlib import Path

    recorded = [json.loads(line[6:]) for line in
                (Path(__file__).parent.parent / "data" / "streams" / "responses_text.sse").read_text().splitlines()
                if line.startswith("data: ")]  # fmt: skip
    client = sdk(passthrough)
    before = scripted_upstream.counts().get("responses", 0)
    runs = []
    for expected in ("miss", "hit"):
        raw = client.responses.with_raw_response.create(model="gpt-4.1", input="Hi", stream=True)
        assert raw.headers["x-prosa-cache"] == expected
        runs.append([_unparsed(e.to_dict()) for e in raw.parse()])
    assert runs[0] == runs[1] == recorded  # every event as the upstream sent it, ids included
    assert scripted_upstream.counts()["responses"] - before == 1
    assert scripted_upstream.last() == {"model": "gpt-4.1", "input": "Hi", "stream": True}
    whole = client.responses.with_raw_response.create(model="gpt-4.1", input="Hi")
    assert whole.headers["x-prosa-cache"] == "hit" and whole.parse().output_text == "Hello! How can I help?"
    assert client.responses.retrieve(recorded[-1]["response"]["id"]).id == recorded[-1]["response"]["id"]
    local = client.responses.create(model="local", input="Say hi.", max_output_tokens=4, temperature=0)
    assert local.output and scripted_upstream.counts()["responses"] - before == 1  # local is translated
