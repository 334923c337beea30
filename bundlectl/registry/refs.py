"""Refs (README: Refs): NAME@VERSION, NAME@sha256:PREFIX, a bundle folder, or git:REV:PATH → a bundle to read.

Whatever the ref, the result is the same: the bundle's record and a way to read each of its files
by bundle-relative path, so `show` and `diff` never care where a bundle came from.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bundlectl.bundle.constraints import require_compatible
from bundlectl.bundle.record import BundleRecord
from bundlectl.errors import NotFound, UsageProblem
from bundlectl.registry.rows import BundleRow

_REGISTRY_REF = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)@(?P<selector>[^@\s]+)$")


@dataclass
class BundleSource:
    record: BundleRecord
    label: str
    origin: str  # "registry", "folder" or "git"
    read_file: Callable[[str], bytes]  # a file whole: for documents (prompts, schemas, manifests)
    copy_file: Callable[[str, IO[bytes]], None]  # a file of any size, copied out in chunks (export)
    keep: list[Any] = field(default_factory=list)  # temporary folders that must outlive the source


def is_registry_ref(ref: str) -> bool:
    return bool(_REGISTRY_REF.match(ref)) and not _exists(Path(ref))


def _exists(path: Path) -> bool:
    """Whether `path` names something; a name too long (or otherwise impossible) for the file system names nothing."""
    try:
        return path.exists()
    except OSError:
        return False


def resolve(ref: str, cwd: Path, registry: Callable[[], Any]) -> BundleSource:
    """`registry` is called only for registry refs, so folder diffs never open the registry."""
    if ref.startswith("git:"):
        return _from_git(ref, cwd)
    if is_registry_ref(ref):
        return _from_registry(ref, registry())
    path = Path(ref)
    path = path if path.is_absolute() else cwd / path
    if _exists(path):
        from bundlectl.bundle.folder import read_bundle_folder

        folder = read_bundle_folder(path, display=str(Path(ref) / "bundle.yaml") if path.is_dir() else ref)
        return BundleSource(folder.record, ref, "folder", folder.read_file, folder.copy_file)
    if "@" in ref:
        raise UsageProblem(f"{ref!r} is not a valid ref", "use NAME@VERSION, NAME@sha256:PREFIX, a folder or git:REV:PATH")
    raise NotFound(f"{ref!r} is neither a bundle folder nor a registry ref", "use NAME@VERSION, a folder path or git:REV:PATH")


def _from_registry(ref: str, storage: Any) -> BundleSource:
    from bundlectl.registry.bundles import find_bundle
    from bundlectl.registry.read import index_at_head

    match = _REGISTRY_REF.match(ref)
    assert match
    row = find_bundle(index_at_head(storage), match["name"], match["selector"])
    return registry_source(row.record(), storage, ref)


def registry_source(record: BundleRecord, storage: Any, label: str) -> BundleSource:
    """A bundle whose files are read from the registry, digests checked (registered or being built)."""
    from bundlectl.registry.bundles import StoredFiles

    digests = {p: f.digest for c in record.components.values() for p, f in c.files.items()}
    files = StoredFiles(storage, digests, label)
    return BundleSource(record, label, "registry", files, files.copy_to)


def _from_git(ref: str, cwd: Path) -> BundleSource:
    """Materialise the folder as it was at REV into a temporary folder, then read it like any folder."""
    import git

    from bundlectl.bundle.folder import read_bundle_folder

    parts = ref.split(":", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise UsageProblem(f"{ref!r} is not a git ref", "write it as git:REV:PATH, e.g. git:HEAD~1:bundles/support-triage")
    _, rev, subpath = parts
    try:
        repo = git.Repo(cwd, search_parent_directories=True)
    except git.InvalidGitRepositoryError:
        raise NotFound(f"{ref}: no git repository around {cwd}") from None
    try:
        tree = repo.commit(rev).tree
    except (git.BadName, ValueError):
        raise NotFound(f"{ref}: git revision {rev!r} not found") from None
    relative = Path(cwd).resolve().relative_to(Path(repo.working_tree_dir).resolve()) if repo.working_tree_dir else Path()
    inside = (relative / subpath).as_posix().strip("/").removeprefix("./")
    try:
        folder_tree = tree / inside if inside not in ("", ".") else tree
    except KeyError:
        raise NotFound(f"{ref}: {subpath} does not exist at {rev}") from None
    scratch = tempfile.TemporaryDirectory(prefix="bundlectl-git-")
    root = Path(scratch.name) / "bundle"
    _extract(folder_tree, root)
    folder = read_bundle_folder(root, display=f"{ref}/bundle.yaml")
    return BundleSource(folder.record, ref, "git", folder.read_file, folder.copy_file, [scratch])


def _extract(tree: Any, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for item in tree:
        destination = target / item.name
        if item.type == "tree":
            _extract(item, destination)
        elif item.type == "blob":
            data = item.data_stream.read()
            if item.mode == 0o120000:  # a symlink: recreate it so the confinement check judges it
                destination.symlink_to(data.decode())
            else:
                destination.write_bytes(data)


def resolve_registered(ref: str, cwd: Path, storage: Any) -> Any:
    """A ref that must name a registered bundle (evidence, approvals and promotions bind to those)."""
    from bundlectl.registry.bundles import find_bundle
    from bundlectl.registry.read import index_at_head

    index = index_at_head(storage)
    if is_registry_ref(ref):
        match = _REGISTRY_REF.match(ref)
        assert match
        return find_bundle(index, match["name"], match["selector"])
    source = resolve(ref, cwd, lambda: storage)
    rows = index.bundles_with_digest(source.record.name, source.record.digest)
    if not rows:
        raise NotFound(
            f"{ref} ({source.record.ref}, {source.record.digest[:19]}…) is not registered", f"register it first: `bundlectl register {ref}`"
        )
    return rows[-1]


def registry_reader(storage: Any, record: BundleRecord) -> Callable[[str], bytes]:
    """Read a registered bundle's files by bundle-relative path, digests checked."""
    return registry_source(record, storage, record.ref).read_file


def require_compatible_row(storage: Any, bundle: BundleRow, action: str) -> None:
    """Refuse `action` (a promotion, a canary) of a registered bundle whose components' constraints do not hold."""
    record = bundle.record()
    require_compatible(record, registry_reader(storage, record), action)
