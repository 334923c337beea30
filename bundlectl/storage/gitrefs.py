"""Reading git refs straight from the files, so read commands need neither GitPython nor a subprocess.

Covers loose refs and packed-refs in the repository's common folder (worktrees included), and only
refs under refs/bundlectl/: a name or a file that leads anywhere else is refused. A ref that does
not hold an object id is an IntegrityFailure naming its file. Writes always go through git itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bundlectl.errors import DamagedStorage, Refused

NAMESPACE = "refs/bundlectl/"
ZERO = "0" * 40
DAMAGED_HINT = "it was changed or damaged outside bundlectl; restore refs/bundlectl/ from a clone or a backup"

_OBJECT_ID = re.compile(r"[0-9a-f]{40}")
# one component of a ref name bundlectl writes: git's rules and a little stricter (no dot first, no
# ".lock" last, no characters git or a shell treats specially)
_COMPONENT = re.compile(r"(?!.*\.\.)[A-Za-z0-9_+=@-][A-Za-z0-9._+=@-]*(?<!\.)")
_SYMREF_DEPTH = 5  # git gives up on symbolic refs nested deeper than this, so do we
_NOT_A_FILE = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


def find_git_dir(start: Path) -> Path | None:
    """The git folder of the repository around `start` (following a `.git` file for worktrees)."""
    for folder in [start, *start.parents]:
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():
            text = candidate.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (folder / target).resolve()
    return None


def common_dir(git_dir: Path) -> Path:
    pointer = git_dir / "commondir"
    if pointer.is_file():
        target = Path(pointer.read_text().strip())
        return target if target.is_absolute() else (git_dir / target).resolve()
    return git_dir


def ref_path(git_common_dir: Path, name: str) -> Path:
    """The loose file of ref `name`; refused unless `name` is well formed under refs/bundlectl/ and its file
    (symbolic links followed) stays inside that folder."""
    parts = name.removeprefix(NAMESPACE).split("/")
    if not name.startswith(NAMESPACE) or not all(_COMPONENT.fullmatch(p) and not p.endswith(".lock") for p in parts):
        raise DamagedStorage(f"{name!r} is not a ref bundlectl keeps (they are all under {NAMESPACE})", DAMAGED_HINT)
    path = git_common_dir / name
    inside = os.path.join(os.path.realpath(git_common_dir), *NAMESPACE.split("/"))
    if not os.path.realpath(path).startswith(inside):
        raise DamagedStorage(f"the ref file {path} leads outside {git_common_dir / NAMESPACE} (a symbolic link?)", DAMAGED_HINT)
    return path


def read_ref(git_common_dir: Path, name: str) -> str | None:
    """Object id a ref under refs/bundlectl/ points to, or None when there is no such ref."""
    return _read_ref(git_common_dir, name, None)


def list_refs(git_common_dir: Path, prefix: str) -> dict[str, str]:
    """Every ref under `prefix` ("refs/bundlectl/…/") with its object id; lock files left by git are not refs."""
    packed = _packed_refs(git_common_dir)  # read once, not once per ref: after `git gc` every ref is in it
    names = {name for name in packed if name.startswith(prefix)}
    for folder, folders, files in os.walk(ref_path(git_common_dir, prefix.rstrip("/"))):
        folders[:] = [f for f in folders if not f.endswith(".lock")]  # a lock git could not take is no folder of refs
        relative = Path(folder).relative_to(git_common_dir).as_posix()
        names.update(f"{relative}/{file}" for file in files if not file.endswith(".lock"))
    refs = {name: _read_ref(git_common_dir, name, packed) for name in sorted(names)}
    return {name: sha for name, sha in refs.items() if sha is not None}


def _read_ref(git_common_dir: Path, name: str, packed: dict[str, str] | None) -> str | None:
    for _ in range(_SYMREF_DEPTH):
        path = ref_path(git_common_dir, name)
        value = _read_loose(path)
        if value is None:
            return _packed_ref(git_common_dir, name, packed)
        if not value.startswith("ref:"):
            return _object_id(value, str(path))
        name = value[len("ref:") :].strip()
        if not name.startswith(NAMESPACE):
            raise DamagedStorage(f"the ref file {path} is damaged: it points at {name!r}, outside {NAMESPACE}", DAMAGED_HINT)
    raise DamagedStorage(f"the ref file {path} is damaged: its symbolic refs nest too deep", DAMAGED_HINT)


def _read_loose(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except _NOT_A_FILE:
        return None
    except OSError as exc:
        raise Refused(f"cannot read the ref file {path}: {exc.strerror}", "check the permissions of the repository") from None
    return data.decode("ascii", errors="replace").strip()


def _object_id(value: str, where: str) -> str:
    if _OBJECT_ID.fullmatch(value):
        return value
    shown = value if len(value) <= 48 else value[:45] + "..."
    raise DamagedStorage(f"the ref file {where} is damaged: it holds {shown!r}, not an object id", DAMAGED_HINT)


def _packed_ref(git_common_dir: Path, name: str, packed: dict[str, str] | None) -> str | None:
    sha = (_packed_refs(git_common_dir) if packed is None else packed).get(name)
    return None if sha is None else _object_id(sha, f"{git_common_dir / 'packed-refs'} (entry {name})")


def _packed_refs(git_common_dir: Path) -> dict[str, str]:
    refs: dict[str, str] = {}
    path = git_common_dir / "packed-refs"
    text = _read_loose(path)
    if text is None:
        return refs
    for line in text.splitlines():
        if line and line[0] not in "#^":
            sha, _, ref = line.partition(" ")
            refs[ref.strip()] = sha
    return refs
