"""`validate`: every check a bundle folder must pass before it can be registered, folder by folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundlectl.errors import InvalidInput, Problem
from bundlectl.progress import ProgressSink
from bundlectl.record import BundleRecord


@dataclass(frozen=True)
class ValidationResult:
    path: str
    record: BundleRecord | None
    problems: list[Problem] = field(default_factory=list)

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
            "problems": [{"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in self.problems],
        }


def validate_folders(paths: list[Path], progress: ProgressSink | None = None) -> list[ValidationResult]:
    from bundlectl.bundle_folder import read_bundle_folder
    from bundlectl.digest.filehash import FileHasher

    hasher = FileHasher()
    results = []
    for path in paths:
        try:
            folder = read_bundle_folder(path, hasher, progress)
            results.append(ValidationResult(str(path), folder.record))
        except InvalidInput as exc:
            results.append(ValidationResult(str(path), None, exc.problems))
    return results
