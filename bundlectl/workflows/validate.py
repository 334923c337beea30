"""`validate`: every check a bundle folder must pass before it can be registered, folder by folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from bundlectl.bundle.folder import read_bundle_folder
from bundlectl.bundle.manifest.load import MANIFEST_FILE
from bundlectl.bundle.record import BundleRecord
from bundlectl.digest.filehash import FileHasher
from bundlectl.errors import InvalidInput, Problem
from bundlectl.foundation.progress import ProgressSink


@dataclass(frozen=True)
class ValidationResult:
    path: str
    record: BundleRecord | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # valid, but evidence will not count as the author expects
    missing: bool = False  # the path does not exist (exit 4, not found, when every failure is one)

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "valid": self.valid,
            "name": self.record.name if self.record else None,
            "version": self.record.version if self.record else None,
            "digest": self.record.digest if self.record else None,
            "problems": [p.to_json() for p in self.problems],
            "warnings": self.warnings,
        }


def bundle_folders(paths: list[Path], changed: bool = False) -> tuple[list[Path], list[ValidationResult]]:
    """The bundle folders PATHS name, each once, in order, and a result for each path that names none.

    A bundle folder or its bundle.yaml names itself; any other file names the bundle folder it is in;
    a folder without a bundle.yaml names every bundle below it. With `changed` (the paths are changed
    files, as pre-commit passes them), a file in no bundle is skipped rather than refused.
    """
    found: dict[Path, None] = {}
    unnamed = []
    for path in paths:
        if path.is_dir() and not (path / MANIFEST_FILE).is_file():
            below = sorted(m.parent for m in path.rglob(MANIFEST_FILE) if not any(part.startswith(".") for part in m.relative_to(path).parts))
            found.update(dict.fromkeys(below))
            if not below:
                unnamed.append(ValidationResult(str(path), None, [Problem(str(path), f"has no {MANIFEST_FILE} in it or below it")]))
            continue
        if path.is_dir() or path.name == MANIFEST_FILE or (not path.exists() and not changed):
            found[path if path.is_dir() or path.name != MANIFEST_FILE else path.parent] = None
            continue
        folder = _enclosing_bundle(path)
        if folder is not None:
            found[folder] = None
        elif not changed:
            unnamed.append(
                ValidationResult(str(path), None, [Problem(str(path), f"is not inside a bundle folder (no {MANIFEST_FILE} beside it or above it)")])
            )
    return list(found), unnamed


def _enclosing_bundle(path: Path) -> Path | None:
    """The nearest folder above `path` that holds a bundle.yaml, not leaving the git repository it is in."""
    for folder in path.absolute().parents:
        if (folder / MANIFEST_FILE).is_file():
            return folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder
        if (folder / ".git").exists():
            return None
    return None


class Validation(NamedTuple):
    """`validate PATHS`: one result per bundle folder PATHS name."""

    results: list[ValidationResult]

    @property
    def invalid(self) -> list[ValidationResult]:
        return [r for r in self.results if not r.valid]

    def to_json(self) -> dict[str, Any]:
        """The `validate --json` document (beside the error document when a folder failed)."""
        return {"valid": not self.invalid, "results": [r.to_json() for r in self.results]}


def validate_folders(paths: list[Path], *, progress: ProgressSink | None = None, changed: bool = False, allow_hard_links: bool = False) -> Validation:
    """Validate each bundle PATHS name (see bundle_folders); a path that names none is a failed result."""

    hasher = FileHasher()
    folders, results = bundle_folders(paths, changed)
    for path in folders:
        try:
            folder = read_bundle_folder(path, hasher, progress, allow_hard_links=allow_hard_links)
            results.append(ValidationResult(str(path), folder.record, warnings=_unrendered(path, folder.record)))
        except InvalidInput as exc:
            results.append(ValidationResult(str(path), None, exc.problems, missing=not path.exists()))
    return Validation(results)


def _unrendered(folder: Path, record: BundleRecord) -> list[str]:
    """A warning per prompt file that no prompt of the eval suite renders: no report can count for it."""
    from bundlectl.bundle.content.documents import parse_document
    from bundlectl.bundle.content.promptfoo import render_hint, unrendered_prompt_files

    prompt, evals = record.components["prompt"], record.components["evals"]
    if prompt.absent or not prompt.files:
        return []
    suite_path = None if evals.absent else evals.fields.get("suite")
    suite = None
    if isinstance(suite_path, str) and suite_path.endswith((".yaml", ".yml", ".json")) and (folder / suite_path).is_file():
        try:
            suite = parse_document((folder / suite_path).read_bytes(), suite_path)
        except InvalidInput:
            suite = None
    where = suite_path if isinstance(suite_path, str) else None
    texts = {path: (folder / path).read_bytes().decode("utf-8", "replace") for path in sorted(prompt.files)}
    return [
        f"{path}: no prompt of the eval suite renders it, so no report can count as evidence for it; {render_hint(path, where)}"
        for path in unrendered_prompt_files(texts, where, suite)
    ]
