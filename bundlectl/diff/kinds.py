"""What a change means for each component kind: the reviewer's view, not a byte diff."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from bundlectl.bundle.content.documents import parse_document
from bundlectl.bundle.content.promptfoo import compare_tests, suite_tests, test_slice
from bundlectl.bundle.content.tools import ToolSpec, parse_tools
from bundlectl.diff.jsonschema import classify
from bundlectl.diff.structured import structured_changes

Reader = Callable[[str], bytes]


def _documents(paths: list[str], read: Reader) -> dict[str, Any]:
    return {path: parse_document(read(path), path) for path in paths}


def schema_details(old_paths: list[str], new_paths: list[str], read_old: Reader, read_new: Reader) -> dict[str, Any]:
    changes = []
    old_docs, new_docs = _documents(old_paths, read_old), _documents(new_paths, read_new)
    pairs = (
        list(zip(old_docs.values(), new_docs.values(), strict=True))
        if len(old_docs) == len(new_docs) == 1
        else [(old_docs.get(p), new_docs.get(p)) for p in sorted(set(old_docs) | set(new_docs))]
    )
    for before, after in pairs:
        changes += classify(before if before is not None else {}, after if after is not None else {})
    return {
        "breaking": any(c.breaking for c in changes),
        "schema_changes": [c.to_json() for c in changes],
    }


def tools_details(old_paths: list[str], new_paths: list[str], read_old: Reader, read_new: Reader) -> dict[str, Any]:
    before = _all_tools(old_paths, read_old)
    after = _all_tools(new_paths, read_new)
    changed: list[dict[str, Any]] = []
    for name in sorted(set(before) & set(after)):
        if before[name] == after[name]:
            continue
        changes: list[dict[str, Any]] = []
        if before[name].description != after[name].description:
            changes.append(
                {
                    "parameter": None,
                    "change": "description changed",
                    "breaking": False,
                    "old": before[name].description,
                    "new": after[name].description,
                }
            )
        for item in classify(before[name].parameters, after[name].parameters):
            parameter = item.path.removeprefix("$").lstrip(".") or None
            changes.append({"parameter": parameter, "change": item.change, "breaking": item.breaking, "old": item.old, "new": item.new})
        changed.append({"name": name, "changes": changes})
    return {
        "tools_added": sorted(set(after) - set(before)),
        "tools_removed": sorted(set(before) - set(after)),
        "tools_changed": changed,
        "breaking": bool(set(before) - set(after)) or any(c["breaking"] for t in changed for c in t["changes"]),
    }


def _all_tools(paths: list[str], read: Reader) -> dict[str, ToolSpec]:
    tools: dict[str, ToolSpec] = {}
    for path in paths:
        tools.update(parse_tools(parse_document(read(path), path), path))
    return tools


def guardrail_details(old_paths: list[str], new_paths: list[str], read_old: Reader, read_new: Reader) -> dict[str, Any]:
    before = _documents(old_paths, read_old)
    after = _documents(new_paths, read_new)
    if len(before) == len(after) == 1:
        before, after = {"": next(iter(before.values()))}, {"": next(iter(after.values()))}
    moves = []
    for change in structured_changes(before, after):
        path = change.path.removeprefix(".")
        moves.append({**change.to_json(), "path": path, "direction": _direction(path, change.change, change.old, change.new)})
    return {"values": moves}


def _direction(path: str, change: str, old: Any, new: Any) -> str:
    if change != "changed":
        return change
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0].lower()
    if isinstance(old, bool) and isinstance(new, bool):
        return "enabled" if new else "disabled"
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        up = new > old
        if leaf.startswith("min") or "threshold" in leaf or "confidence" in leaf:
            return "tightened" if up else "loosened"
        if leaf.startswith("max") or "limit" in leaf:
            return "loosened" if up else "tightened"
        return "raised" if up else "lowered"
    return "changed"


def evals_details(old_suite: str | None, new_suite: str | None, read_old: Reader, read_new: Reader) -> dict[str, Any]:
    before = suite_tests(parse_document(read_old(old_suite), old_suite)) if old_suite else []
    after = suite_tests(parse_document(read_new(new_suite), new_suite)) if new_suite else []
    changes = compare_tests(before, after)
    return {
        "note": "the eval suite changed: evidence recorded against the old suite does not apply to the new one",
        "tests_added": changes.added,
        "tests_removed": changes.removed,
        "tests_changed": changes.changed,
        "cases": {"old": len(before), "new": len(after)},
        "slices": {"old": dict(Counter(test_slice(t) for t in before)), "new": dict(Counter(test_slice(t) for t in after))},
    }
