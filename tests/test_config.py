"""Settings: every field of the one table is read from its config path and environment variable,
parsed to its type, traced to its source, and documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prosa.config import FIELDS, load_settings
from prosa.errors import ConfigError

README = Path(__file__).parent.parent / "README.md"


def other_value(field):
    """A value unlike the field's default, of its type."""
    if field.kind is bool:
        return not field.default
    if field.kind is int:
        return field.default + 7
    if field.kind is float:
        return 2.5 if field.default != 2.5 else 3.5
    return f"x-{field.name}"


def toml(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value).replace("'", '"')


def write_config(home: Path, values: dict) -> None:
    top, sections = [], {}
    for field in FIELDS:
        if field.path in values:
            *section, key = field.path.split(".")
            line = f"{key} = {toml(values[field.path])}"
            (sections.setdefault(section[0], []) if section else top).append(line)
    text = "\n".join(top) + "".join(f"\n[{name}]\n" + "\n".join(lines) for name, lines in sections.items())
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(text + "\n")


def test_defaults_are_the_tables():
    settings = load_settings()
    for field in FIELDS:
        assert getattr(settings, field.name) == field.default, field.name
        assert settings.source(field.name) == "default"


def test_every_config_path_is_read_and_parsed(prosa_home):
    fields = [f for f in FIELDS if f.path]
    write_config(prosa_home, {f.path: other_value(f) for f in fields})
    settings = load_settings()
    for field in fields:
        value = getattr(settings, field.name)
        assert value == other_value(field) and type(value) is field.kind, field.name
        assert settings.source(field.name) == f"config file ({field.path})"


def test_every_environment_variable_wins_over_the_file(prosa_home, monkeypatch):
    fields = [f for f in FIELDS if f.env]
    write_config(prosa_home, {f.path: other_value(f) for f in fields if f.path})
    for field in fields:
        monkeypatch.setenv(field.env, "12" if field.kind in (int, float) else f"env-{field.name}")
    settings = load_settings()
    for field in fields:
        expected = field.kind("12") if field.kind in (int, float) else f"env-{field.name}"
        assert getattr(settings, field.name) == expected, field.name
        assert settings.source(field.name) == f"environment ({field.env})"


@pytest.mark.parametrize("field", [f for f in FIELDS if f.kind is not str and f.path], ids=lambda f: f.name)
def test_a_value_of_the_wrong_type_is_one_clear_error(prosa_home, field):
    write_config(prosa_home, {field.path: "lots"})
    with pytest.raises(ConfigError) as raised:
        load_settings()
    what = "true or false" if field.kind is bool else "a number"
    assert f"({field.path}): {field.name} must be {what} (got 'lots')" in str(raised.value)


def test_the_readme_documents_every_environment_variable_and_config_path():
    text = README.read_text()
    section = text[text.index("## Configuration") :]
    rows = [line for line in section[: section.index("\n## ")].splitlines() if line.startswith("|")]
    for field in FIELDS:
        if field.env:
            assert any(f"`{field.env}`" in row for row in rows), field.env
        if field.path:
            *parent, key = field.path.split(".")
            pattern = rf"`(\[{parent[0]}\] )?{key}`" if parent else rf"`{key}`"
            assert any(re.search(pattern, row) and (not parent or f"[{parent[0]}]" in row) for row in rows), (
                field.path
            )
