"""Reading a bundle folder into a BundleRecord: files confined to the folder, hashed, digests computed."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bundlectl.constraints import constraint_violations
from bundlectl.content.checks import content_problems
from bundlectl.digest.bundle import component_digest
from bundlectl.digest.filehash import CHUNK, FileHasher
from bundlectl.errors import InvalidInput, Problem
from bundlectl.manifest.load import LoadedManifest, load_manifest
from bundlectl.progress import NoProgress, ProgressSink
from bundlectl.record import BundleRecord, ComponentRecord, FileEntry


@dataclass(frozen=True)
class FolderBundle:
    """A bundle read from disk: its record plus where each of its files lives."""

    record: BundleRecord
    loaded: LoadedManifest
    paths: dict[str, Path]

    def read_file(self, relpath: str) -> bytes:
        return self.paths[relpath].read_bytes()

    def copy_file(self, relpath: str, target: IO[bytes]) -> None:
        """A file of any size into `target`, in chunks."""
        with open(self.paths[relpath], "rb") as source:
            shutil.copyfileobj(source, target, CHUNK)


def read_bundle_folder(
    target: Path,
    hasher: FileHasher | None = None,
    progress: ProgressSink | None = None,
    display: str | None = None,
) -> FolderBundle:
    """Validate the manifest, confine and hash every referenced file, and compute all digests."""
    loaded = load_manifest(target, display)
    manifest = loaded.manifest
    per_component = _collect_files(loaded)
    _check_contents(loaded, per_component)
    hasher = hasher or FileHasher()
    progress = progress or NoProgress()

    all_paths: dict[str, Path] = {}
    for files in per_component.values():
        all_paths.update(files)
    total = sum(p.stat().st_size for p in all_paths.values())
    progress.start(total, f"hashing {manifest.metadata.name}")
    try:
        file_digests = {rel: FileEntry(hasher.digest(p, progress.advance), p.stat().st_size) for rel, p in sorted(all_paths.items())}
    finally:
        progress.finish()

    components: dict[str, ComponentRecord] = {}
    for kind, component in manifest.components.by_kind().items():
        fields = component.model_dump(mode="json", exclude_defaults=True)
        entries = {rel: file_digests[rel] for rel in sorted(per_component[kind])}
        digest = component_digest(kind, fields, {rel: e.digest for rel, e in entries.items()})
        components[kind] = ComponentRecord(kind, digest, fields, entries)

    metadata = manifest.metadata.model_dump(mode="json", exclude_defaults=True)
    record = BundleRecord.build(manifest.metadata.name, manifest.metadata.version, metadata, components)
    _check_constraints(loaded, record, all_paths)
    return FolderBundle(record, loaded, all_paths)


def _check_constraints(loaded: LoadedManifest, record: BundleRecord, paths: dict[str, Path]) -> None:

    problems = constraint_violations(record, lambda rel: paths[rel].read_bytes())
    if problems:
        line = loaded.line_of("components", "prompt", "requires") or loaded.line_of("components", "retriever")
        raise InvalidInput([Problem(loaded.source, p, line, "components") for p in problems],
                           "make the components agree, or correct the declared constraint")


def _collect_files(loaded: LoadedManifest) -> dict[str, dict[str, Path]]:
    """Every file each component references, as bundle-relative path → path on disk."""
    problems: list[Problem] = []
    result: dict[str, dict[str, Path]] = {}
    real_root = loaded.root.resolve()
    for kind, component in loaded.manifest.components.by_kind().items():
        files: dict[str, Path] = {}
        for field_path, rel in getattr(component, "path_fields", lambda: [])():
            loc = ("components", kind, *field_path)
            try:
                files.update(confined_files(loaded.root, real_root, rel))
            except _PathProblem as exc:
                problems.append(
                    Problem(loaded.source, exc.message, loaded.line_of(*loc), ".".join(str(p) for p in loc))
                )
        result[kind] = files
    if problems:
        raise InvalidInput(problems, "component files must be regular files inside the bundle folder")
    return result


def _check_contents(loaded: LoadedManifest, per_component: dict[str, dict[str, Path]]) -> None:

    problems: list[Problem] = []
    root_label = loaded.source.removesuffix("bundle.yaml")
    for kind, component in loaded.manifest.components.by_kind().items():
        files = per_component[kind]
        fields = component.model_dump(mode="json", exclude_defaults=True)
        problems += content_problems(kind, fields, sorted(files), _reader(files), lambda rel: root_label + rel)
    if problems:
        raise InvalidInput(problems, "fix the component files named above")


class _PathProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def confined_files(root: Path, real_root: Path, rel: str) -> dict[str, Path]:
    """The regular files at `rel` (a file or a folder), refusing anything that resolves outside the root."""
    found: dict[str, Path] = {}
    visited: set[Path] = set()

    def visit(relpath: str, path: Path) -> None:
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            raise _PathProblem(f"{relpath!r} does not exist in the bundle folder") from None
        real = path.resolve()
        if not real.is_relative_to(real_root):
            raise _PathProblem(f"{relpath!r} is a symlink leading outside the bundle folder (to {real})")
        if stat.S_ISLNK(mode):
            mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            found[relpath] = path
        elif stat.S_ISDIR(mode):
            if real in visited:
                raise _PathProblem(f"{relpath!r} is a symlink loop")
            visited.add(real)
            for entry in sorted(os.listdir(path)):
                visit(f"{relpath}/{entry}", path / entry)
        else:
            raise _PathProblem(f"{relpath!r} is not a regular file or folder")

    visit(rel, root / rel)
    return found


def _reader(files: dict[str, Path]) -> Callable[[str], bytes]:
    return lambda rel: files[rel].read_bytes()
