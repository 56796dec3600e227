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
