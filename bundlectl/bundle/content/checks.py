"""Semantic checks of component files: each kind's files must be what that kind promises to hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from bundlectl.bundle.content.case_list import parse_case_list
from bundlectl.bundle.content.documents import parse_document
from bundlectl.bundle.content.tools import parse_tools
from bundlectl.bundle.manifest import TEXT_KINDS
from bundlectl.errors import InvalidInput, Problem
from bundlectl.foundation.textfile import decode_text

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
        schema_problem(parse_document(read(path), source), source)
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
        parse_case_list(read(path), source)


def schema_problem(schema: Any, source: str) -> None:
    """Refuse a document that is not a valid JSON Schema under its own `$schema` (default: draft 2020-12),
    naming the keyword that breaks the metaschema: `{"type": "strin"}` is refused, not taken as "anything"."""
    if not isinstance(schema, dict):
        raise InvalidInput([Problem(source, "is not a JSON Schema (expected an object at the top)", 1)])
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    declared = schema.get("$schema")
    # default None: an unknown $schema is refused here, where jsonschema would only warn and guess
    validator = validator_for(schema, default=cast(Any, None)) if isinstance(declared, str) else None
    if isinstance(declared, str) and validator is None:
        raise InvalidInput(
            [Problem(source, f"$schema {declared!r} is not a JSON Schema draft this tool knows", field="$schema")],
            "use https://json-schema.org/draft/2020-12/schema, or draft 2019-09, 7, 6, 4 or 3",
        )
    cls = validator or validator_for({})
    error = best_match(cls(cls.META_SCHEMA).iter_errors(schema))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or None
        raise InvalidInput(
            [Problem(source, f"is not a valid JSON Schema: {error.message}", field=where)],
            f"checked against {cls.META_SCHEMA.get('$schema', 'the JSON Schema metaschema')}",
        )
