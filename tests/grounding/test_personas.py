"""Personas: built-ins, files in the config dir, and explicit arguments winning over a persona's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from prosa import Client
from prosa.config import config_dir
from prosa.errors import ConfigError, InvalidRequest
from prosa.grounding import Persona, get_persona, ground, list_personas, remove_persona, save_persona
from prosa.grounding.personas import BUILTINS


def make_client() -> Client:
    return Client(model="gpt-4o-mini", cache=None)


def test_builtins_are_listed_and_usable():
    names = [p.name for p in list_personas()]
    assert {"analyst", "teacher", "coder", "editor", "concise"} <= set(names)
    request, report = ground(make_client(), "Explain tokens", None, {}, persona="teacher")
    assert request.messages[0].role == "system" and "patient teacher" in request.messages[0].content
    assert report.persona == "teacher"


def test_saved_as_toml_in_the_config_dir_and_round_trips():
    system = 'Say "hi"\nthen a tab:\t, a backslash \\ and é ✓'
    path = save_persona(Persona("greeter", system, "Greets", "local", 0.3, 40))
    assert path == config_dir() / "personas" / "greeter.toml"
    got = get_persona("greeter")
    assert (got.system, got.description, got.model, got.temperature, got.max_tokens) == (
        system,
        "Greets",
        "local",
        0.3,
        40,
    )
    assert not got.builtin
    remove_persona("greeter")
    with pytest.raises(InvalidRequest, match="unknown persona 'greeter'"):
        get_persona("greeter")


def test_a_file_overrides_a_builtin_and_builtins_cannot_be_removed():
    save_persona(Persona("analyst", "My own analyst."))
    assert get_persona("analyst").system == "My own analyst."
    remove_persona("analyst")
    assert get_persona("analyst") == BUILTINS["analyst"]
    with pytest.raises(InvalidRequest, match="built-in"):
        remove_persona("analyst")


def test_persona_defaults_apply_and_explicit_arguments_win():
    save_persona(Persona("p", "Persona prompt.", model="gpt-4o", temperature=1.5, max_tokens=77))
    client = make_client()
    request, _ = ground(client, "Q", None, {}, persona="p")
    assert (request.model, request.temperature, request.max_tokens) == ("gpt-4o", 1.5, 77)
    assert request.messages[0].content == "Persona prompt."
    request, _ = ground(
        client, "Q", "gpt-4.1-mini", {"temperature": 0, "max_tokens": 5, "system": "Mine."}, persona="p"
    )
    assert (request.model, request.temperature, request.max_tokens) == ("gpt-4.1-mini", 0.0, 5)
    assert [m.content for m in request.messages] == ["Mine.", "Q"]
    # A conversation that has its own system message keeps it.
    messages = [{"role": "system", "content": "Chat system."}, {"role": "user", "content": "Q"}]
    request, _ = ground(client, messages, None, {}, persona="p")
    assert [m.content for m in request.messages] == ["Chat system.", "Q"]


def test_persona_without_model_uses_the_client_default():
    request, _ = ground(Client(model="local", cache=None), "Q", None, {}, persona="concise")
    assert request.model == "local"


def test_client_chat_takes_a_persona_through_the_shared_path():
    client = Client(model="gpt-4o-mini", cache="memory")
    call = client.prepare("Q", None, {"temperature": None}, False, True, persona="analyst")
    assert call.request.temperature == 0.0 and "data analyst" in call.request.messages[0].content
    assert call.key != client.prepare("Q", None, {}, False, True).key


def test_invalid_personas():
    with pytest.raises(InvalidRequest, match="temperature must be between 0 and 2"):
        save_persona(Persona("hot", "x", temperature=3))
    with pytest.raises(InvalidRequest, match="persona name '../evil' is not valid"):
        save_persona(Persona("../evil", "x"))
    with pytest.raises(InvalidRequest, match="non-empty system prompt"):
        save_persona(Persona("empty", "  "))
    with pytest.raises(InvalidRequest, match="persona must be a name"):
        ground(make_client(), "Q", None, {}, persona=42)


def test_a_broken_persona_file_is_a_config_error():
    folder = config_dir() / "personas"
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text('system = "unterminated\n')
    with pytest.raises(ConfigError, match="bad.toml"):
        get_persona("bad")
    (folder / "bad.toml").write_text('system = "x"\ncolour = "red"\n')
    with pytest.raises(ConfigError, match="unknown field"):
        get_persona("bad")


def test_mapping_persona(tmp_path: Path):
    request, _ = ground(make_client(), "Q", None, {}, persona={"system": "Inline.", "temperature": 0.5})
    assert request.messages[0].content == "Inline." and request.temperature == 0.5
