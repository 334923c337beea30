"""The tests of a promptfoo suite, keyed so two versions of a suite can be compared case by case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bundlectl.digest.canonical import canonical_json


def suite_tests(config: Any) -> list[dict[str, Any]]:
    tests = config.get("tests") if isinstance(config, dict) else None
    return [t for t in tests if isinstance(t, dict)] if isinstance(tests, list) else []


def test_key(test: dict[str, Any]) -> str:
    """A test's description, else its vars: what a person would call "the same case"."""
    description = test.get("description")
    return str(description) if description else canonical_json(test.get("vars", {})).decode()


def test_slice(test: dict[str, Any]) -> str:
    metadata = test.get("metadata")
    return str(metadata.get("slice", "default")) if isinstance(metadata, dict) else "default"


@dataclass(frozen=True)
class SuiteChanges:
    """Case-by-case differences between two lists of promptfoo tests, keyed by `test_key`."""

    added: list[str]
    removed: list[str]
    changed: list[str]


def compare_tests(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> SuiteChanges:
    old_by_key = {test_key(t): t for t in old}
    new_by_key = {test_key(t): t for t in new}
    return SuiteChanges(
        added=[k for k in new_by_key if k not in old_by_key],
        removed=[k for k in old_by_key if k not in new_by_key],
        changed=[k for k in new_by_key if k in old_by_key and old_by_key[k] != new_by_key[k]],
    )


def case_id(test: dict[str, Any]) -> str | None:
    """How a promptfoo test is named case by case (docs/design.md: Evidence): its `metadata.id`, else its `description`."""
    metadata = test.get("metadata")
    explicit = metadata.get("id") if isinstance(metadata, dict) else None
    name = explicit if explicit not in (None, "") else test.get("description")
    return str(name) if name not in (None, "") else None


def case_slice(test: dict[str, Any]) -> str | None:
    """The slice a test names in `metadata.slice`, or None when it names none."""
    metadata = test.get("metadata")
    value = metadata.get("slice") if isinstance(metadata, dict) else None
    return str(value) if value not in (None, "") else None


def unrendered_prompt_files(prompt_texts: dict[str, str], suite_path: str | None, suite: Any) -> list[str]:
    """The bundle's prompt files (path → text) that no prompt of the promptfoo suite renders: neither named
    (`prompts: [file://../prompts/x.md]`) nor written into an inline prompt. What `validate` warns about."""
    import posixpath

    entries = suite.get("prompts") if isinstance(suite, dict) else None
    shown: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        raw = entry.get("raw") or entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(raw, str) and raw.startswith("file://"):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(suite_path or ""), raw[len("file://") :]))
            if path in prompt_texts:  # a file outside the bundle's prompt files renders none of them
                shown.append(prompt_texts[path])
        elif isinstance(raw, str):
            shown.append(raw)
    return unshown_prompt_files(prompt_texts, shown)


def unshown_prompt_files(prompt_texts: dict[str, str], shown: list[str]) -> list[str]:
    """The prompt files (path → text) that are none of the prompt texts SHOWN, in path order.

    A report can only prove the prompt texts it shows, so evidence cannot count for a file it never ran:
    `validate` asks this of the suite's prompts, binding a report asks it of the prompts the report ran. A file is
    shown only as a whole prompt of its own: its text inside another prompt (or an empty file, inside every
    prompt) proves nothing, and a report's prompt must be one of the bundle's files anyway."""
    texts = set(shown)
    return [path for path, text in sorted(prompt_texts.items()) if text not in texts]


def render_hint(path: str, suite_path: str | None) -> str:
    """What to change in the suite so that it renders the prompt file PATH."""
    import posixpath

    relative = posixpath.relpath(path, posixpath.dirname(suite_path) or ".") if suite_path else path
    return f"add `file://{relative}` to the suite's prompts"
