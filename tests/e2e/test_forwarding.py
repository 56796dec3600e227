"""Every field of the installed openai SDK's chat-completion create() reaches the upstream verbatim through
`prosa serve`; unknown fields pass through too, and each field is in the cache key.

The fields are read from the SDK itself, so a field a new SDK release adds is covered automatically (with a
value derived from its type, or a failure asking for one)."""

from __future__ import annotations

import typing
import uuid
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import completion_create_params

from prosa.params import UNKEYED
from tests.servers.gateway_proc import Gateway, over_scripted
from tests.support import get_json

# A valid value for the fields whose type is a structure, or whose derived value would not do
# (the others get one derived from their type: see ``derived``).
VALUES: dict[str, Any] = {
    "audio": {"voice": "alloy", "format": "wav"},
    "frequency_penalty": 0.5,
    "function_call": {"name": "lookup"},
    "functions": [{"name": "lookup", "parameters": {"type": "object", "properties": {}}}],
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "max_completion_tokens": 64,
    "max_tokens": 64,
    "metadata": {"team": "prosa"},
    "modalities": ["text", "audio"],
    "moderation": {"model": "omni-moderation-latest"},
    "n": 2,
    "parallel_tool_calls": False,
    "prediction": {"type": "content", "content": "The answer is"},
    "presence_penalty": -0.5,
    "prompt_cache_key": "cache-key-1",
    "prompt_cache_options": {"mode": "explicit", "ttl": "30m"},
    "reasoning_effort": "low",
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    },
    "service_tier": "flex",
    "stop": ["\n\n", "END"],
    "temperature": 0.25,
    "tool_choice": {"type": "function", "function": {"name": "lookup"}},
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {}},
                "strict": True,
            },
        }
    ],
    "top_logprobs": 3,
    "top_p": 0.9,
    "user": "someone",
    "web_search_options": {"search_context_size": "low"},
}
DOOR = ("stream", "stream_options")  # how the answer travels: the gateway's own business


def create_fields() -> dict[str, Any]:
    """The create() body fields of the installed SDK (but messages and model), with their types."""
    hints = typing.get_type_hints(completion_create_params.CompletionCreateParamsBase)
    return {name: hint for name, hint in hints.items() if name not in ("messages", "model")}


def derived(name: str, hint: Any) -> Any:
    """A valid value for a field with a simple type (first literal, True, 1, 0.5, a string), else fail."""
    options = [hint]
    while options:
        kind = options.pop(0)
        origin = typing.get_origin(kind)
        if origin is typing.Literal:
            return typing.get_args(kind)[0]
        if origin is typing.Union or origin is getattr(typing, "Optional", None):
            options.extend(a for a in typing.get_args(kind) if a is not type(None))
            continue
        if origin in (typing.Required, typing.NotRequired):
            options.extend(typing.get_args(kind))
            continue
        if kind in (bool, int, float, str):
            return {bool: True, int: 1, float: 0.5, str: "x"}[kind]
    pytest.fail(
        f"the installed openai SDK has a new create() field {name!r} ({hint}): add a valid value to VALUES"
    )


def every_field() -> dict[str, Any]:
    out = {}
    for name, hint in create_fields().items():
        if name in DOOR:
            continue
        out[name] = VALUES[name] if name in VALUES else derived(name, hint)
    return out


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory) -> Gateway:
    gateway = over_scripted(tmp_path_factory.mktemp("gw-forward"), scripted_upstream)
    yield gateway
    gateway.stop()


def last_body(upstream: Any) -> dict[str, Any]:
    return get_json(f"{upstream.url}/test/last")


def messages() -> list[dict[str, Any]]:
    return [
        {"role": "developer", "content": "Be brief."},
        {
            "role": "user",
            "content": [{"type": "text", "text": f"Hello ({uuid.uuid4().hex[:8]})"}],
            "name": "ann",
        },
    ]


def test_the_sdk_fields_are_the_ones_this_test_knows():
    """A guard that the introspection works: the fields everyone knows are there."""
    fields = create_fields()
    assert {"temperature", "tools", "tool_choice", "n", "logprobs", "stream_options", "seed"} <= set(fields)
    values = every_field()
    assert (values["seed"], values["store"], values["verbosity"]) == (
        1,
        True,
        "low",
    )  # derived from the types


@pytest.mark.parametrize("stream", [True, False])
def test_every_sdk_create_field_reaches_the_upstream_verbatim(gw, scripted_upstream, stream):
    fields = every_field()
    # What the openai SDK itself puts on the wire, sent straight to the upstream (no prosa in between).
    direct_messages = messages()
    direct = openai.OpenAI(base_url=scripted_upstream.base_url, api_key="k", max_retries=0)
    for _ in direct.chat.completions.create(
        model="replay:text", messages=direct_messages, stream=True, **fields
    ):
        pass
    sent = last_body(scripted_upstream)
    assert set(fields) <= set(sent), "the SDK itself left a field out: give it a value it sends"
    # The same call through the gateway.
    via_messages = messages()
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    kwargs = {"stream_options": {"include_usage": False}} if stream else {}
    result = client.chat.completions.create(
        model="replay:text", messages=via_messages, stream=stream, **kwargs, **fields
    )
    if stream:
        for _ in result:
            pass
    forwarded = last_body(scripted_upstream)
    assert forwarded["messages"] == via_messages
    for name in fields:
        assert name in forwarded, f"{name} was not forwarded"
        assert forwarded[name] == sent[name], f"{name} was changed on the way"
        assert type(forwarded[name]) is type(sent[name]), name
    # The door's fields: prosa always streams from the upstream, with the usage.
    assert forwarded["stream"] is True
    assert forwarded["stream_options"]["include_usage"] is True
    expected = {k: v for k, v in sent.items() if k not in ("messages", *DOOR)}
    assert {k: v for k, v in forwarded.items() if k not in ("messages", *DOOR)} == expected


@pytest.mark.parametrize(
    ("name", "value", "other"),
    [
        ("top_k", 40, 20),
        ("chat_template_kwargs", {"enable_thinking": False}, {"enable_thinking": True}),
        ("repetition_penalty", 1.1, 1.2),
        ("min_p", 0.05, 0.1),
    ],  # fmt: skip
)
def test_unknown_fields_pass_through_and_change_the_key(gw, scripted_upstream, name, value, other):
    base = {"model": "replay:text", "messages": [{"role": "user", "content": f"hi {uuid.uuid4().hex[:8]}"}]}

    def ask(extra: dict[str, Any]) -> str:
        r = httpx.post(gw.chat_url, json={**base, **extra}, timeout=30)
        assert r.status_code == 200, r.text
        return r.headers["x-prosa-cache"]

    assert ask({name: value}) == "miss"
    assert last_body(scripted_upstream)[name] == value
    assert ask({name: value}) == "hit"
    assert ask({name: other}) == "miss"
    assert last_body(scripted_upstream)[name] == other
    assert ask({}) == "miss"
    assert name not in last_body(scripted_upstream)
    # Through the SDK as extra_body, the same entry as the raw body.
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(**base, extra_body={name: value})
    assert raw.headers["x-prosa-cache"] == "hit"


@pytest.mark.parametrize("name", sorted(set(create_fields()) - set(DOOR)))
def test_each_field_is_in_the_key_except_who_asks(gw, scripted_upstream, name):
    """A request with the field and one without are different entries, except for the fields that name who
    asks or where the answer is kept (user, metadata, store...), which are forwarded but share the entry."""
    value = every_field()[name]
    content = f"key {name} {uuid.uuid4().hex[:8]}"
    base = {"model": "replay:text", "messages": [{"role": "user", "content": content}]}
    plain = httpx.post(gw.chat_url, json=base, timeout=30)
    assert plain.headers["x-prosa-cache"] == "miss"
    before = scripted_upstream.count()
    r = httpx.post(gw.chat_url, json={**base, name: value}, timeout=30)
    assert r.status_code == 200, r.text
    if name in UNKEYED:
        assert r.headers["x-prosa-cache"] == "hit"
        assert scripted_upstream.count() == before
    else:
        assert r.headers["x-prosa-cache"] == "miss"
        assert last_body(scripted_upstream)[name] == value


def every_message_shape() -> list[dict[str, Any]]:
    """One message of each role and content form of the Chat Completions API."""
    return [
        {"role": "system", "content": "You are terse.", "name": "house-rules"},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {
            "role": "user",
            "name": "ann",
            "content": [
                {"type": "text", "text": f"What is in these? ({uuid.uuid4().hex[:8]})"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                {
                    "type": "file",
                    "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "png"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": [{"type": "text", "text": "a cat"}]},
        {
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": "I can't say more."}],
            "refusal": None,
        },
        {"role": "assistant", "audio": {"id": "audio_abc123"}, "content": None},
        {"role": "function", "name": "lookup", "content": "legacy result"},
        {"role": "user", "content": "And now?"},
    ]


def test_every_message_role_and_part_reaches_the_upstream_verbatim_and_is_keyed(gw, scripted_upstream):
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    sent = every_message_shape()
    raw = client.chat.completions.with_raw_response.create(model="replay:text", messages=sent)
    assert raw.headers["x-prosa-cache"] == "miss"
    assert last_body(scripted_upstream)["messages"] == sent
    again = client.chat.completions.with_raw_response.create(model="replay:text", messages=sent)
    assert again.headers["x-prosa-cache"] == "hit"
    changed = every_message_shape()
    changed[2]["content"] = [*sent[2]["content"][:1], {**sent[2]["content"][1], "image_url": {"url": "https://example.com/b.png", "detail": "low"}}, *sent[2]["content"][2:]]  # fmt: skip
    other = client.chat.completions.with_raw_response.create(model="replay:text", messages=changed)
    assert other.headers["x-prosa-cache"] == "miss"  # another image is another question
