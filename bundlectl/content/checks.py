"""Semantic checks of component files: each kind's files must be what that kind promises to hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bundlectl.content.documents import parse_document
from bundlectl.content.tools import parse_tools
from bundlectl.errors import InvalidInput, Problem
from bundlectl.manifest import TEXT_KINDS
from bundlectl.textfile import decode_text

MAX_CHECKED_BYTES = 16 * 1024 * 1024


def content_problems(kind: str, fields: dict[str, Any], paths: list[str], read: Callable[[str], bytes], label: Callable[[str], str]) -> list[Problem]:
    """Problems with one component's files; an empty list means they hold what the kind needs."""
    problems: list[Problem] = []
    for path in paths:
        try:
            _check(kind, fields, path, read, label(path))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    return problems


def _check(kind: str, fields: dict[str, Any], path: str, read: Callable[[str], bytes], source: str) -> None:
    if kind in TEXT_KINDS:
        decode_text(read(path), source)
    elif kind == "schema":
        if not isinstance(parse_document(read(path), source), dict):
            raise InvalidInput([Problem(source, "is not a JSON Schema (expected an object at the top)", 1)])
    elif kind == "tools":
        parse_tools(parse_document(read(path), source), source)
    elif kind == "guardrails":
        parse_document(read(path), source)
    elif kind == "evals" and path == fields.get("suite") and path.endswith((".yaml", ".yml", ".json")):
        suite = parse_document(read(path), source)
        if not isinstance(suite, dict):
            raise InvalidInput([Problem(source, "is not an eval suite (expected a mapping, e.g. a promptfoo config)", 1)])
        if "tests" in suite and not isinstance(suite["tests"], list):
            raise InvalidInput([Problem(source, "tests must be a list", field="tests")])
    elif kind == "evals" and path == fields.get("cases"):
        from bundlectl.content.case_list import parse_case_list

        parse_case_list(read(path), source)
