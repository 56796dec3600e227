"""ChatRequest validation: every rule, one clear message naming the parameter, value and range."""

from __future__ import annotations

import pytest

from prosa.errors import InvalidRequest
from prosa.request import ChatRequest


def build(prompt="hi", **kw):
    return ChatRequest.build(prompt, model=kw.pop("model", "local"), **kw)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"temperature": 5}, "temperature must be between 0 and 2 (got 5)"),
        ({"temperature": -0.1}, "temperature must be between 0 and 2 (got -0.1)"),
        ({"temperature": "hot"}, "temperature must be between 0 and 2 (got 'hot')"),
        ({"temperature": float("nan")}, "temperature must be between 0 and 2"),
        ({"max_tokens": 0}, "max_tokens must be an integer >= 1 (got 0)"),
        ({"max_tokens": 1.5}, "max_tokens must be an integer >= 1 (got 1.5)"),
        ({"max_tokens": True}, "max_tokens must be an integer >= 1 (got True)"),
        ({"top_p": 0}, "top_p must be greater than 0 and at most 1 (got 0)"),
        ({"top_p": 1.01}, "top_p must be greater than 0 and at most 1 (got 1.01)"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop accepts at most 4 strings (got 5)"),
        ({"stop": [""]}, "stop must be a non-empty string or a list of them"),
        ({"stop": 3}, "stop must be a non-empty string or a list of them (got 3)"),
        ({"seed": 1.5}, "seed must be an integer (got 1.5)"),
        ({"presence_penalty": 2.5}, "presence_penalty must be between -2 and 2 (got 2.5)"),
        ({"frequency_penalty": -3}, "frequency_penalty must be between -2 and 2 (got -3)"),
        ({"response_format": "json"}, "response_format must be an object"),
        ({"tools": "x"}, "tools must be a list of objects"),
    ],
)
def test_parameter_errors_name_the_parameter_value_and_range(kw, message):
    param = next(iter(kw))
    with pytest.raises(InvalidRequest) as info:
        build(**kw)
    assert message in str(info.value)
    assert info.value.param == param
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "prompt must not be empty"),
        ("   ", "prompt must not be empty"),
        ([], "at least one message"),
        (
            [{"role": "robot", "content": "x"}],
            "role must be one of system, developer, user, assistant, tool, function (got 'robot')",
        ),
        ([{"role": "user", "content": 42}], "content must be a string or a list of content parts (got int)"),
        ([{"role": "user", "content": ""}], "messages[0] content must not be empty"),
        (["just a string"], "messages[0] must be a {'role': ..., 'content': ...} mapping"),
        (42, "prompt must be a string or a list of messages (got int)"),
    ],
)
def test_message_errors(prompt, message):
    with pytest.raises(InvalidRequest) as info:
        build(prompt)
    assert message in str(info.value)


def test_valid_request_keeps_order_and_parameters():
    r = build(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ],
        system="sys",
        temperature=0,
        max_tokens=5,
        top_p=1,
        stop="x",
        seed=7,
    )
    assert [m.role for m in r.messages] == ["system", "user", "assistant", "user"]
    assert r.stop == ("x",)
    # Every field as it was given (the key normalises 0 and 0.0, "x" and ["x"]: see the next test).
    assert r.params == {"temperature": 0, "max_tokens": 5, "top_p": 1, "stop": "x", "seed": 7}
    assert r.deterministic


def test_canonical_form_is_stable_and_ignores_nothing_that_matters():
    a = build("q", temperature=0.5, stop=["b", "a"])
    b = build("q", temperature=0.5, stop=["b", "a"])
    assert a.canonical() == b.canonical()
    assert build("q", temperature=0.6).canonical() != a.canonical()
    assert build("q", stop=["a", "b"], temperature=0.5).canonical() != a.canonical()
    assert build("q", model="gpt-4o-mini").canonical() != build("q").canonical()


TOOL_TURN = [
    {"role": "user", "content": "weather?"},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
]  # fmt: skip


def test_every_role_and_field_is_kept_as_sent():
    r = build([{"role": "developer", "content": "terse"}, *TOOL_TURN])
    assert r.message_dicts()[1:] == TOOL_TURN and r.message_dicts()[0]["role"] == "developer"
    parts = [
        {"type": "text", "text": "what is"},
        {"type": "image_url", "image_url": {"url": "data:x", "detail": "low"}},
    ]
    r = build([{"role": "user", "content": parts, "name": "ada"}])
    assert r.messages[0].text == "what is" and r.message_dicts()[0] == {
        "role": "user",
        "content": parts,
        "name": "ada",
    }


@pytest.mark.parametrize(
    ("messages", "path"),
    [
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": ""}}]}], "messages[0].content[0].image_url.url"),
        ([{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x"}}]}], "messages[0].content[0].input_audio.format"),
        ([{"role": "user", "content": [{"type": "file", "file": {}}]}], "messages[0].content[0].file"),
        ([{"role": "user", "content": "a"}, {"role": "tool", "content": "x"}], "messages[1].tool_call_id"),
        ([{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": 1}}]}], "messages[0].tool_calls[0].function.arguments"),
        ([{"role": "user", "content": "a", "tool_calls": []}], "messages[0].tool_calls"),
        ([{"role": "function", "content": "x"}], "messages[0].name"),
    ],
)  # fmt: skip
def test_message_shape_errors_name_the_path(messages, path):
    with pytest.raises(InvalidRequest) as info:
        build(messages)
    assert info.value.param == path and path in str(info.value)


def key(**kw):
    return build("q", **kw).canonical()


def test_every_field_that_can_change_the_answer_is_keyed():
    base = key()
    changed = [key(tool_choice="none"), key(tool_choice="required"), key(n=2), key(logprobs=True),
               key(top_logprobs=2, logprobs=True), key(reasoning_effort="low"), key(max_completion_tokens=9),
               key(max_tokens=9), key(top_k=40), key(logit_bias={"50": 1}), key(parallel_tool_calls=False)]  # fmt: skip
    assert len({base, *changed}) == len(changed) + 1
    # Who asks and where the answer is kept are forwarded but do not split the cache (the README's table).
    assert key(user="u", metadata={"a": "b"}, store=True, service_tier="flex", safety_identifier="s") == base
    # The same value written two ways shares an entry; null is the same as leaving a field out.
    assert key(temperature=1) == key(temperature=1.0) and key(stop="x") == key(stop=["x"])
    assert key(seed=None) == base


def test_wrong_types_are_refused_not_coerced():
    for bad in (True, 1.0, 0, 129, "2"):
        with pytest.raises(InvalidRequest, match="n must be an integer from 1 to 128"):
            build(n=bad)
    with pytest.raises(InvalidRequest, match="not a request field here"):
        build(stream=True)


def test_lone_surrogates_give_distinct_keys_not_errors():
    a = build([{"role": "user", "content": "a\ud800b"}], x="\udc00")
    b = build([{"role": "user", "content": "a\ud801b"}], x="\udc00")
    assert a.canonical() != b.canonical()


def test_a_reply_passes_back_as_the_assistant_turn():
    from prosa.completion import assemble
    from prosa.reply import Reply

    chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
              {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                                                                   "function": {"name": "w", "arguments": "{\"a\""}}]}}]},
              {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}]  # fmt: skip
    reply = Reply("", "m", "openai", "tool_calls", completion=assemble(chunks))
    assert reply.tool_calls[0].parsed == {"a": 1} and reply.tool_calls[0].name == "w"
    r = build(
        [{"role": "user", "content": "q"}, reply, {"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    )
    assert r.message_dicts()[1] == {
        "role": "assistant", "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{\"a\": 1}"}}],
    }  # fmt: skip


def test_the_question_is_the_last_user_message_and_semantic_hits_take_it_only_when_it_ends_the_request():
    from prosa.cache.semantic.policy import question_of

    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    asked = build([{"role": "user", "content": "first"}, {"role": "assistant", "content": "a"},
                   {"role": "user", "content": "second"}])  # fmt: skip
    assert asked.question == "second" and question_of(asked) == "second"
    answered = build([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])
    assert answered.question == "q" and question_of(answered) is None  # a later turn: never shared by meaning
    parts = build([{"role": "user", "content": [{"type": "text", "text": "what is "}, image,
                                                {"type": "text", "text": "this?"}]}])  # fmt: skip
    assert parts.question == "what is this?" and question_of(parts) is None  # content parts: not by meaning
    assert build([{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]).question == ""


@pytest.mark.parametrize(("name", "local"), [("local", True), ("SmolLM2", True), (" local ", True),
                                             ("gpt-4o-mini", False), ("localhost", False), (5, False)])  # fmt: skip
def test_every_name_of_the_local_model_is_one_name(name, local):
    from prosa.request import canonical_model, is_local_model

    assert is_local_model(name) is local
    assert canonical_model(name) == ("local" if local else name)
    if isinstance(name, str):  # a Client keys every alias of the local model under one name
        from prosa import Client

        call = Client(cache="memory").prepare("hi", name, {}, refresh=False, use_cache=True)
        assert call.request.model == ("local" if local else name.strip())
