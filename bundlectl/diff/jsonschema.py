"""Classifying JSON Schema changes as breaking or compatible.

Breaking means a document valid before may be invalid now, or a consumer loses a field: a field
removed, a type narrowed, a new required field, an enum value dropped, a bound tightened. Widening
and annotations are compatible. Keywords we do not understand are reported as breaking: at 3 a.m.
a false alarm is cheaper than a silent break.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ANNOTATIONS = {"title", "description", "$id", "$schema", "$comment", "examples", "default", "deprecated"}
LOWER_BOUNDS = {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
UPPER_BOUNDS = {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
HANDLED = ANNOTATIONS | LOWER_BOUNDS | UPPER_BOUNDS | {"type", "properties", "required", "enum", "items", "additionalProperties"}


@dataclass(frozen=True)
class SchemaChange:
    path: str
    change: str
    breaking: bool
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "breaking": self.breaking, "old": self.old, "new": self.new}


def _types(schema: dict[str, Any]) -> set[str]:
    value = schema.get("type")
    types = set(value) if isinstance(value, list) else ({value} if isinstance(value, str) else set())
    if "number" in types:
        types.add("integer")
    return types


def classify(old: Any, new: Any, path: str = "$") -> list[SchemaChange]:
    if old == new:
        return []
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [SchemaChange(path, "schema replaced", True, old, new)]
    changes: list[SchemaChange] = []
    changes += _type_change(old, new, path)
    changes += _properties(old, new, path)
    changes += _required(old, new, path)
    changes += _enum(old, new, path)
    if "items" in old or "items" in new:
        changes += classify(old.get("items", {}), new.get("items", {}), f"{path}[]")
    changes += _additional(old, new, path)
    for key in sorted(LOWER_BOUNDS | UPPER_BOUNDS):
        if old.get(key) != new.get(key):
            changes.append(_bound(key, old.get(key), new.get(key), path))
    for key in sorted((set(old) | set(new)) - HANDLED):
        if old.get(key) != new.get(key):
            changes.append(SchemaChange(f"{path}.{key}", f"{key} changed", True, old.get(key), new.get(key)))
    for key in sorted(ANNOTATIONS):
        if old.get(key) != new.get(key):
            changes.append(SchemaChange(f"{path}.{key}", f"{key} changed", False, old.get(key), new.get(key)))
    return changes


def _type_change(old: dict[str, Any], new: dict[str, Any], path: str) -> list[SchemaChange]:
    before, after = _types(old), _types(new)
    if before == after:
        return []
    if not after:
        return [SchemaChange(path, "type widened (no longer constrained)", False, old.get("type"), None)]
    if not before or after > before:
        return [SchemaChange(path, "type narrowed" if not before else "type widened", not before, old.get("type"), new.get("type"))]
    if after < before:
        return [SchemaChange(path, "type narrowed", True, old.get("type"), new.get("type"))]
    return [SchemaChange(path, "type changed", True, old.get("type"), new.get("type"))]


def _properties(old: dict[str, Any], new: dict[str, Any], path: str) -> list[SchemaChange]:
    before, after = old.get("properties") or {}, new.get("properties") or {}
    required_after = set(new.get("required") or [])
    changes = []
    for name in sorted(set(before) | set(after)):
        child = f"{path}.{name}"
        if name not in after:
            changes.append(SchemaChange(child, "field removed", True, before[name], None))
        elif name not in before:
            if name in required_after:
                changes.append(SchemaChange(child, "new required field", True, None, after[name]))
            else:
                changes.append(SchemaChange(child, "optional field added", False, None, after[name]))
        else:
            changes += classify(before[name], after[name], child)
    return changes


def _required(old: dict[str, Any], new: dict[str, Any], path: str) -> list[SchemaChange]:
    before, after = set(old.get("required") or []), set(new.get("required") or [])
    existing = set(old.get("properties") or {})
    changes = []
    for name in sorted(after - before):
        if name in existing:  # new properties were reported as "new required field" already
            changes.append(SchemaChange(f"{path}.{name}", "now required", True, False, True))
    for name in sorted(before - after):
        if name in (new.get("properties") or {}):
            changes.append(SchemaChange(f"{path}.{name}", "no longer required", False, True, False))
    return changes


def _enum(old: dict[str, Any], new: dict[str, Any], path: str) -> list[SchemaChange]:
    if old.get("enum") == new.get("enum"):
        return []
    before, after = old.get("enum"), new.get("enum")
    if before is None:
        return [SchemaChange(path, "enum added (values restricted)", True, None, after)]
    if after is None:
        return [SchemaChange(path, "enum removed (any value allowed)", False, before, None)]
    removed = [v for v in before if v not in after]
    added = [v for v in after if v not in before]
    changes = []
    if removed:
        changes.append(SchemaChange(path, "enum values removed", True, removed, None))
    if added:
        changes.append(SchemaChange(path, "enum values added", False, None, added))
    return changes


def _additional(old: dict[str, Any], new: dict[str, Any], path: str) -> list[SchemaChange]:
    before, after = old.get("additionalProperties", True), new.get("additionalProperties", True)
    if before == after:
        return []
    if isinstance(before, dict) or isinstance(after, dict):
        return classify(before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}, f"{path}.*")
    return [SchemaChange(path, "additional properties " + ("forbidden" if not after else "allowed"), not after, before, after)]


def _bound(key: str, before: Any, after: Any, path: str) -> SchemaChange:
    lower = key in LOWER_BOUNDS
    if before is None or after is None:
        tightened = after is not None
    else:
        tightened = after > before if lower else after < before
    return SchemaChange(f"{path}", f"{key} {'tightened' if tightened else 'loosened'}", tightened, before, after)
