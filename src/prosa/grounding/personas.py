"""Personas: named system prompts with optional default model, temperature and max_tokens.

A persona is one TOML file in ``<config dir>/personas/NAME.toml``::

    description = "Answers from tables, with the figures"
    system = "You are a careful data analyst. ..."
    model = "gpt-4o-mini"     # optional
    temperature = 0           # optional
    max_tokens = 400          # optional

A few built-ins ship with prosa; a file of the same name overrides one. Explicit arguments and flags
always win over a persona's defaults.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._record import Record
from ..errors import ConfigError, InvalidRequest
from ..request import ChatRequest
from .paths import check_name, personas_dir

FIELDS = ("system", "description", "model", "temperature", "max_tokens")


class Persona(Record):
    """A named system prompt and the defaults that go with it. ``builtin`` is True for the shipped ones."""

    __slots__ = ("name", "system", "description", "model", "temperature", "max_tokens", "builtin")

    def __init__(
        self,
        name: str,
        system: str,
        description: str = "",
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        builtin: bool = False,
    ) -> None:
        self.name, self.system, self.description, self.builtin = name, system, description, builtin
        self.model, self.temperature, self.max_tokens = model, temperature, max_tokens

    def to_dict(self) -> dict[str, Any]:
        return self.as_dict()

    def validate(self) -> Persona:
        """Raise InvalidRequest when a field is out of range (the same rules as every request)."""
        check_name(self.name, "persona")
        if not isinstance(self.system, str) or not self.system.strip():
            raise InvalidRequest(f"persona {self.name!r} needs a non-empty system prompt", "system")
        if self.model is not None and (not isinstance(self.model, str) or not self.model.strip()):
            raise InvalidRequest(f"persona {self.name!r}: model must be a non-empty string", "model")
        ChatRequest.build("x", model="x", temperature=self.temperature, max_tokens=self.max_tokens)
        return self


BUILTINS: dict[str, Persona] = {
    p.name: p
    for p in (
        Persona(
            "analyst",
            "You are a careful data analyst. Answer from the data you are given, quote the figures you "
            "used, and say plainly when the data is not enough to answer.",
            "Answers from tables and documents, with the figures and their sources",
            temperature=0.0,
            builtin=True,
        ),
        Persona(
            "teacher",
            "You are a patient teacher. Explain step by step in plain words, with a short example, "
            "and check the key idea in one sentence at the end.",
            "Explains step by step, with an example",
            builtin=True,
        ),
        Persona(
            "coder",
            "You are a senior software engineer. Answer with working code first, then a short "
            "explanation; point out edge cases and pitfalls. Be concise.",
            "Code first, then a short explanation",
            temperature=0.2,
            builtin=True,
        ),
        Persona(
            "editor",
            "You are a copy editor. Rewrite the text you are given for clarity, correctness and "
            "concision, keeping its meaning and voice. Reply with the edited text only.",
            "Improves a text's clarity and grammar, keeping its meaning",
            temperature=0.2,
            builtin=True,
        ),
        Persona(
            "concise",
            "You answer in at most three sentences, with no preamble.",
            "Short answers, no preamble",
            builtin=True,
        ),
    )
}


def persona_path(name: str) -> Path:
    return personas_dir() / f"{check_name(name, 'persona')}.toml"


def _load_file(path: Path) -> Persona:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read persona file {path}: {e}; fix or remove it") from None
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ConfigError(
            f"persona file {path}: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(FIELDS)}"
        )
    try:
        return Persona(path.stem, **data).validate()
    except (InvalidRequest, TypeError) as e:
        raise ConfigError(f"persona file {path}: {e}") from None


def user_personas() -> dict[str, Persona]:
    folder = personas_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: _load_file(p) for p in sorted(folder.glob("*.toml"))}


def list_personas() -> list[Persona]:
    """Every persona, built-ins first overridden by files of the same name, sorted by name."""
    merged = {**BUILTINS, **user_personas()}
    return [merged[name] for name in sorted(merged)]


def get_persona(name: str) -> Persona:
    check_name(name, "persona")
    path = persona_path(name)
    if path.is_file():
        return _load_file(path)
    if name in BUILTINS:
        return BUILTINS[name]
    known = ", ".join(p.name for p in list_personas())
    raise InvalidRequest(
        f"unknown persona {name!r}; known: {known} (add one with: prosa personas add)", "persona"
    )


def resolve_persona(persona: str | Persona | Mapping[str, Any]) -> Persona:
    """A persona from its name, a Persona, or a mapping of its fields (``{"system": ...}``)."""
    if isinstance(persona, Persona):
        return persona.validate()
    if isinstance(persona, str):
        return get_persona(persona)
    if isinstance(persona, Mapping):
        fields = dict(persona)
        try:
            return Persona(fields.pop("name", "custom"), **fields).validate()
        except TypeError as e:
            raise InvalidRequest(f"persona: {e}", "persona") from None
    raise InvalidRequest(f"persona must be a name or a Persona (got {type(persona).__name__})", "persona")


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        # A JSON string is a TOML basic string once DEL, which TOML forbids raw, is escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    return json.dumps(value)


def save_persona(persona: Persona) -> Path:
    """Write (or replace) a persona file atomically."""
    persona.validate()
    path = persona_path(persona.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{f} = {_toml_value(getattr(persona, f))}" for f in FIELDS if getattr(persona, f) not in (None, "")
    ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def remove_persona(name: str) -> Path:
    path = persona_path(name)
    if not path.is_file():
        if name in BUILTINS:
            raise InvalidRequest(
                f"{name!r} is a built-in persona and cannot be removed (a file of that name overrides it)"
            )
        raise InvalidRequest(f"no persona named {name!r} (see: prosa personas list)")
    path.unlink()
    return path


def _has_system(prompt: Any) -> bool:
    if isinstance(prompt, str):
        return False
    try:
        return any(
            (m.get("role") if isinstance(m, Mapping) else getattr(m, "role", None)) == "system"
            for m in prompt
        )
    except TypeError:
        return False


def apply_persona(persona: Persona | None, params: dict[str, Any], prompt: Any) -> dict[str, Any]:
    """Parameters with the persona's defaults filled in where the caller set nothing.

    Its system prompt is used unless ``system`` is given or the messages already hold a system message.
    """
    if persona is None:
        return params
    out = dict(params)
    if out.get("temperature") is None and persona.temperature is not None:
        out["temperature"] = persona.temperature
    if (
        out.get("max_tokens") is None
        and out.get("max_completion_tokens") is None
        and persona.max_tokens is not None
    ):
        out["max_tokens"] = persona.max_tokens
    if out.get("system") is None and not _has_system(prompt):
        out["system"] = persona.system
    return out
