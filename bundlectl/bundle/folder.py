"""Reading a bundle folder into a BundleRecord: files confined to the folder, hashed, digests computed."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bundlectl.bundle.constraints import constraint_violations
from bundlectl.bundle.content.checks import content_problems
from bundlectl.bundle.manifest.load import LoadedManifest, load_manifest
from bundlectl.bundle.record import BundleRecord, ComponentRecord, FileEntry
from bundlectl.digest.bundle import component_digest
from bundlectl.digest.filehash import CHUNK, FileHasher
from bundlectl.errors import InvalidInput, Problem
from bundlectl.foundation.progress import NoProgress, ProgressSink
from bundlectl.safeio.regular import UnsafeFile, open_regular, read_regular

MAX_READ_BYTES = 1024**3  # a component file read whole (to check its content) is at most this large

Identity = tuple[int, int]  # st_dev, st_ino of a file as found when the folder was listed


@dataclass(frozen=True)
class FolderBundle:
    """A bundle read from disk: its record plus where each of its files lives (and which file that was, when listed)."""

    record: BundleRecord
    loaded: LoadedManifest
    paths: dict[str, Path]
    identities: dict[str, Identity] = field(default_factory=dict)

    def read_file(self, relpath: str) -> bytes:
        return _read(self.paths[relpath], self.identities.get(relpath))

    def copy_file(self, relpath: str, target: IO[bytes]) -> None:
        """A file of any size into `target`, in chunks."""
        with open_regular(self.paths[relpath], follow=False, same_as=self.identities.get(relpath)) as source:
            shutil.copyfileobj(source, target, CHUNK)


def read_bundle_folder(
    target: Path,
    hasher: FileHasher | None = None,
    progress: ProgressSink | None = None,
    display: str | None = None,
    allow_hard_links: bool = False,
) -> FolderBundle:
    """Validate the manifest, confine and hash every referenced file, and compute all digests.

    Each file is opened once without following a link and checked through its descriptor to be the regular file
    listed (a symlink swapped in meanwhile is refused, never read); what is hashed is what was opened. A file with
    more than one hard link (its content may be a file outside the folder) is refused unless `allow_hard_links`.
    """
    loaded = load_manifest(target, display)
    manifest = loaded.manifest
    identities: dict[str, Identity] = {}
    per_component = _collect_files(loaded, identities)
    _check_contents(loaded, per_component, identities)
    hasher = hasher or FileHasher()
    progress = progress or NoProgress()

    all_paths: dict[str, Path] = {}
    for files in per_component.values():
        all_paths.update(files)
    total = sum(p.stat().st_size for p in all_paths.values())
    progress.start(total, f"hashing {manifest.metadata.name}")
    try:
        file_digests = {rel: _hashed(loaded, rel, p, identities[rel], hasher, progress, allow_hard_links) for rel, p in sorted(all_paths.items())}
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
    _check_constraints(loaded, record, all_paths, identities)
    return FolderBundle(record, loaded, all_paths, identities)


def _hashed(
    loaded: LoadedManifest, rel: str, path: Path, identity: Identity, hasher: FileHasher, progress: ProgressSink, allow_hard_links: bool
) -> FileEntry:
    """The digest and size of the file listed at `rel`, from one descriptor: the file opened is the file hashed."""
    try:
        with open_regular(path, rel, follow=False, hard_links=allow_hard_links, same_as=identity) as handle:
            size = os.fstat(handle.fileno()).st_size
            return FileEntry(hasher.digest_open(path, handle, progress.advance), size)
    except UnsafeFile as exc:
        hint = "copy the file into the bundle folder, or pass --allow-hard-links if the link is intended" if "hard link" in exc.why else exc.hint
        raise InvalidInput([Problem(loaded.source, f"{rel!r} {exc.why}", None, "components")], hint) from None
    except OSError as exc:
        raise InvalidInput(
            [Problem(loaded.source, f"{rel!r} cannot be read ({exc.strerror})", None, "components")], "try again once nothing changes the folder"
        ) from None


def _read(path: Path, identity: Identity | None) -> bytes:
    return read_regular(path, MAX_READ_BYTES, follow=False, same_as=identity)


def _check_constraints(loaded: LoadedManifest, record: BundleRecord, paths: dict[str, Path], identities: dict[str, Identity]) -> None:

    problems = constraint_violations(record, lambda rel: _read(paths[rel], identities[rel]))
    if problems:
        line = loaded.line_of("components", "prompt", "requires") or loaded.line_of("components", "retriever")
        raise InvalidInput(
            [Problem(loaded.source, p, line, "components") for p in problems], "make the components agree, or correct the declared constraint"
        )


def _collect_files(loaded: LoadedManifest, identities: dict[str, Identity]) -> dict[str, dict[str, Path]]:
    """Every file each component references, as bundle-relative path → path on disk (and, in `identities`, which file)."""
    problems: list[Problem] = []
    result: dict[str, dict[str, Path]] = {}
    real_root = loaded.root.resolve()
    for kind, component in loaded.manifest.components.by_kind().items():
        files: dict[str, Path] = {}
        for field_path, rel in getattr(component, "path_fields", lambda: [])():
            loc = ("components", kind, *field_path)
            try:
                files.update(confined_files(loaded.root, real_root, rel, identities))
            except _PathProblem as exc:
                problems.append(Problem(loaded.source, exc.message, loaded.line_of(*loc), ".".join(str(p) for p in loc)))
        result[kind] = files
    if problems:
        raise InvalidInput(problems, "component files must be regular files inside the bundle folder")
    return result


def _check_contents(loaded: LoadedManifest, per_component: dict[str, dict[str, Path]], identities: dict[str, Identity]) -> None:

    problems: list[Problem] = []
    root_label = loaded.source.removesuffix("bundle.yaml")
    for kind, component in loaded.manifest.components.by_kind().items():
        files = per_component[kind]
        fields = component.model_dump(mode="json", exclude_defaults=True)
        problems += content_problems(kind, fields, sorted(files), _reader(files, identities), lambda rel: root_label + rel)
    if problems:
        raise InvalidInput(problems, "fix the component files named above")


class _PathProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def confined_files(root: Path, real_root: Path, rel: str, identities: dict[str, Identity] | None = None) -> dict[str, Path]:
    """The regular files at `rel` (a file or a folder), refusing anything that resolves outside the root: where each
    really is (symlinks inside the root resolved), and in `identities` which file was found there."""
    found: dict[str, Path] = {}
    visited: set[Path] = set()

    def visit(relpath: str, path: Path) -> None:
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            raise _PathProblem(f"{relpath!r} does not exist in the bundle folder") from None
        try:
            real = path.resolve()
            if not real.is_relative_to(real_root):
                raise _PathProblem(f"{relpath!r} is a symlink leading outside the bundle folder (to {real})")
            info = os.stat(real)
        except OSError as exc:  # swapped between a file and a link while it was resolved (readlink: EINVAL), or removed
            raise _PathProblem(f"{relpath!r} changed while it was read ({exc.strerror}); try again once nothing changes the folder") from None
        mode = info.st_mode
        if stat.S_ISREG(mode):
            found[relpath] = real
            if identities is not None:
                identities[relpath] = (info.st_dev, info.st_ino)
        elif stat.S_ISDIR(mode):
            if real in visited:
                raise _PathProblem(f"{relpath!r} is a symlink loop")
            visited.add(real)
            for entry in sorted(os.listdir(path)):
                try:
                    entry.encode("utf-8")
                except UnicodeEncodeError:
                    raise _PathProblem(
                        f"{relpath!r} holds a file whose name is not UTF-8 ({os.fsencode(entry)!r}); bundle paths are UTF-8 text"
                    ) from None
                visit(f"{relpath}/{entry}", path / entry)
        else:
            raise _PathProblem(f"{relpath!r} is not a regular file or folder")

    visit(rel, root / rel)
    return found


def _reader(files: dict[str, Path], identities: dict[str, Identity]) -> Callable[[str], bytes]:
    return lambda rel: _read(files[rel], identities[rel])
