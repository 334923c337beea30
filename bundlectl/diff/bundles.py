"""Diffing two bundles: components with equal digests are skipped without reading their content."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bundlectl.bundle.manifest import KINDS
from bundlectl.bundle.record import ComponentRecord
from bundlectl.diff import kinds
from bundlectl.diff.structured import Change, structured_changes
from bundlectl.diff.text import TEXT_DIFF_MAX, large, unified
from bundlectl.errors import UsageProblem
from bundlectl.registry.refs import BundleSource


@dataclass
class ComponentDiff:
    kind: str
    old_digest: str
    new_digest: str
    fields: list[Change] = field(default_factory=list)
    files_added: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    text_diffs: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "old_digest": self.old_digest,
            "new_digest": self.new_digest,
            "fields": [c.to_json() for c in self.fields],
            "files": {"added": self.files_added, "removed": self.files_removed, "changed": self.files_changed},
            "text_diffs": self.text_diffs,
            **self.details,
        }


@dataclass
class BundleDiff:
    a: dict[str, str]
    b: dict[str, str]
    changed: list[str]
    unchanged: list[str]
    components: dict[str, ComponentDiff]

    @property
    def breaking(self) -> list[str]:
        """The changed kinds whose change breaks a consumer (a schema narrowed, a tool or parameter removed, …)."""
        return [kind for kind, component in self.components.items() if component.details.get("breaking")]

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "breaking": self.breaking,
            "components": {k: c.to_json() for k, c in self.components.items()},
        }


def diff_bundles(a: BundleSource, b: BundleSource, only: list[str] | None = None) -> BundleDiff:
    for kind in only or []:
        if kind not in KINDS:
            raise UsageProblem(f"unknown component kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    selected = [k for k in KINDS if not only or k in only]
    changed, unchanged, components = [], [], {}
    for kind in selected:
        old, new = a.record.components[kind], b.record.components[kind]
        if old.digest == new.digest:
            unchanged.append(kind)
            continue
        changed.append(kind)
        components[kind] = _component(kind, old, new, a, b)
    return BundleDiff(_summary(a), _summary(b), changed, unchanged, components)


def _summary(source: BundleSource) -> dict[str, str]:
    return {"name": source.record.name, "version": source.record.version, "digest": source.record.digest, "ref": source.label}


def _component(kind: str, old: ComponentRecord, new: ComponentRecord, a: BundleSource, b: BundleSource) -> ComponentDiff:
    result = ComponentDiff(kind, old.digest, new.digest)
    result.fields = structured_changes(old.fields, new.fields)
    result.files_added = sorted(set(new.files) - set(old.files))
    result.files_removed = sorted(set(old.files) - set(new.files))
    result.files_changed = sorted(p for p in set(old.files) & set(new.files) if old.files[p].digest != new.files[p].digest)
    handled = _kind_details(kind, old, new, a, b, result)
    for path in result.files_changed + result.files_added + result.files_removed:
        if path in handled:
            continue
        entries = [(f.size, f.digest) if f is not None else None for f in (old.files.get(path), new.files.get(path))]
        if max(entry[0] for entry in entries if entry is not None) > TEXT_DIFF_MAX:
            result.text_diffs[path] = large(path, entries[0], entries[1])  # never read: it may be gigabytes
            continue
        before = a.read_file(path) if path in old.files else None
        after = b.read_file(path) if path in new.files else None
        result.text_diffs[path] = unified(path, before, after)
    return result


def _kind_details(kind: str, old: ComponentRecord, new: ComponentRecord, a: BundleSource, b: BundleSource, result: ComponentDiff) -> set[str]:
    """Fill kind-specific details; returns the files it explained (they get no raw text diff)."""
    if old.absent or new.absent:
        result.details["presence"] = "now absent" if new.absent else "now present"
        return set()
    old_paths, new_paths = sorted(old.files), sorted(new.files)
    if kind == "schema":
        result.details.update(kinds.schema_details(old_paths, new_paths, a.read_file, b.read_file))
        return set(old_paths) | set(new_paths)
    if kind == "tools":
        result.details.update(kinds.tools_details(old_paths, new_paths, a.read_file, b.read_file))
        return set(old_paths) | set(new_paths)
    if kind == "guardrails":
        result.details.update(kinds.guardrail_details(old_paths, new_paths, a.read_file, b.read_file))
        return set(old_paths) | set(new_paths)
    if kind == "evals":
        old_suite, new_suite = old.fields.get("suite"), new.fields.get("suite")
        result.details.update(kinds.evals_details(old_suite, new_suite, a.read_file, b.read_file))
        return {p for p in (old_suite, new_suite) if p}
    return set()
