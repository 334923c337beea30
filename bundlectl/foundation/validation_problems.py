"""Pydantic's validation errors as problems a person can act on: file, line, field, and for a misspelt
key the key that was probably meant. The manifest and the policy loaders both report through here."""

from __future__ import annotations

import difflib
from typing import Any

from bundlectl.errors import Problem
from bundlectl.foundation.safeyaml import YamlDocument

_TAGS = ("absent", "present")


def field_location(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pydantic's error location as the user wrote it: without the absent/present union tag."""
    parts = list(loc)
    if len(parts) >= 3 and parts[0] == "components" and parts[2] in _TAGS:
        del parts[2]
    return tuple(parts)


def validation_problems(errors: list[Any], model: Any, source: str, document: YamlDocument, format_file: str) -> list[Problem]:
    """One Problem per pydantic error of `model` (a pydantic model class); `format_file` names its schema."""
    problems = []
    for err in errors:
        loc = field_location(tuple(err["loc"]))
        field = ".".join(str(p) for p in loc) or None
        problems.append(Problem(source, _message(err, loc, model, format_file), document.line_of(loc), field))
    return problems


def _message(err: Any, loc: tuple[Any, ...], model: Any, format_file: str) -> str:
    kind = err["type"]
    if kind == "missing":
        if len(loc) == 2 and loc[0] == "components":
            return 'is missing; declare the component, or mark it {absent: "why not used"}'
        return "is required"
    if kind == "extra_forbidden":
        guess = did_you_mean(model, loc)
        return f"unknown key; did you mean {guess!r}?" if guess else f"unknown key (the keys allowed here are in {format_file})"
    if kind == "string_type" and isinstance(err.get("input"), (int, float)):
        return f'must be a string; quote it: "{err["input"]}"'
    if kind == "string_pattern_mismatch":  # never the regex itself: say what the value should look like
        from bundlectl.foundation.durations import DURATION_PATTERN
        from bundlectl.foundation.names import pattern_meaning

        pattern = str((err.get("ctx") or {}).get("pattern", ""))
        meaning = pattern_meaning(pattern) or ("a duration such as 30m, 12h, 7d or 2w" if pattern == DURATION_PATTERN else None)
        return f"{err.get('input')!r} is not valid here: " + (f"use {meaning}" if meaning else f"see {format_file} for the form")
    return str(err["msg"]).removeprefix("Value error, ")


def did_you_mean(model: Any, loc: tuple[Any, ...]) -> str | None:
    """The allowed key closest to the unknown one at the end of `loc`, read from the model's JSON Schema."""
    if not loc or not isinstance(loc[-1], str):
        return None
    schema = model.model_json_schema(by_alias=True)
    allowed = sorted({key for node in _nodes_at(schema, loc[:-1]) for key in node.get("properties", {})})
    close = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.6)
    return close[0] if close else None


def _nodes_at(schema: dict[str, Any], path: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Every object schema that can describe the value at `path` (unions and if/then/else followed)."""
    definitions = schema.get("$defs", {})

    def branches(node: Any) -> list[dict[str, Any]]:
        if not isinstance(node, dict):
            return []
        while "$ref" in node:
            node = definitions.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
        alternatives = [*node.get("anyOf", []), *node.get("oneOf", []), *node.get("allOf", [])]
        alternatives += [node[k] for k in ("then", "else") if k in node]
        return [node] + [b for alternative in alternatives for b in branches(alternative)]

    nodes = branches(schema)
    for part in path:
        following = []
        for node in nodes:
            properties = node.get("properties", {})
            if isinstance(part, str) and part in properties:
                following += branches(properties[part])
            elif isinstance(part, int) and "items" in node:
                following += branches(node["items"])
            elif isinstance(part, str) and isinstance(node.get("additionalProperties"), dict):
                following += branches(node["additionalProperties"])
        nodes = following
    return nodes
