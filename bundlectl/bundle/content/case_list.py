"""The case list an `evals` component declares (`cases: evals/cases.yaml`): a list of `{id, slice}`.

It names, for harnesses other than promptfoo, exactly which cases a run of the suite must report.
"""

from __future__ import annotations

from typing import NamedTuple

from bundlectl.errors import InvalidInput, Problem
from bundlectl.foundation.safeyaml import load_yaml
from bundlectl.foundation.textfile import MAX_TEXT_BYTES, decode_text


class DeclaredCase(NamedTuple):
    id: str
    slice: str | None


def parse_case_list(data: bytes, source: str) -> list[DeclaredCase]:
    if len(data) > MAX_TEXT_BYTES:
        raise InvalidInput([Problem(source, f"is {len(data)} bytes, over the {MAX_TEXT_BYTES}-byte limit")])
    document = load_yaml(decode_text(data, source), source)
    items = document.data
    if not isinstance(items, list) or not items:
        raise InvalidInput(
            [Problem(source, "must be a non-empty list of {id, slice}", 1)], "write it with `bundlectl evals cases REPORT > evals/cases.yaml`"
        )
    cases: list[DeclaredCase] = []
    first_line: dict[str, int | None] = {}
    for index, item in enumerate(items):
        line = document.line_of((index,))
        if not isinstance(item, dict) or set(item) - {"id", "slice"}:
            raise InvalidInput([Problem(source, "each case is a mapping with `id` and an optional `slice`, nothing else", line, f"[{index}]")])
        case_id, slice_name = item.get("id"), item.get("slice")
        if not isinstance(case_id, str) or not case_id:
            raise InvalidInput([Problem(source, "needs an `id` (a non-empty string)", line, f"[{index}].id")])
        if slice_name is not None and (not isinstance(slice_name, str) or not slice_name):
            raise InvalidInput([Problem(source, "`slice` must be a non-empty string", line, f"[{index}].slice")])
        if case_id in first_line:
            raise InvalidInput([Problem(source, f"case {case_id!r} is listed twice (first on line {first_line[case_id]})", line, f"[{index}].id")])
        first_line[case_id] = line
        cases.append(DeclaredCase(case_id, slice_name))
    return cases


def case_list_yaml(cases: list[DeclaredCase]) -> str:
    """The case list as `bundlectl evals cases` writes it: one flow mapping a line."""
    import json

    lines = ["# the cases of this suite: each run must report each of them exactly once (bundlectl evals cases)"]
    for case in cases:
        fields = f"id: {json.dumps(case.id, ensure_ascii=False)}"  # a JSON string is a valid YAML scalar
        if case.slice is not None:
            fields += f", slice: {json.dumps(case.slice, ensure_ascii=False)}"
        lines.append(f"- {{{fields}}}")
    return "\n".join(lines) + "\n"
