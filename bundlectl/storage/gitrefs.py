"""Reading git refs straight from the files, so read commands need neither GitPython nor a subprocess.

Covers loose refs and packed-refs in the repository's common folder (worktrees included). A ref that
does not hold an object id is an IntegrityFailure naming its file. Writes always go through git itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bundlectl.errors import IntegrityFailure, Refused

ZERO = "0" * 40
DAMAGED_HINT = "it was changed or damaged outside bundlectl; restore refs/bundlectl/ from a clone or a backup"

_OBJECT_ID = re.compile(r"[0-9a-f]{40}")
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
                target = Path(text[len("gitdir:"):].strip())
                return target if target.is_absolute() else (folder / target).resolve()
    return None


def common_dir(git_dir: Path) -> Path:
    pointer = git_dir / "commondir"
    if pointer.is_file():
        target = Path(pointer.read_text().strip())
        return target if target.is_absolute() else (git_dir / target).resolve()
    return git_dir


def read_ref(git_common_dir: Path, name: str) -> str | None:
    """Object id a ref points to, or None when there is no such ref."""
    for _ in range(_SYMREF_DEPTH):
        path = git_common_dir / name
        value = _read_loose(path)
        if value is None:
            return _packed_ref(git_common_dir, name)
        if not value.startswith("ref:"):
            return _object_id(value, str(path))
        name = value[len("ref:"):].strip()
        if not name.startswith("refs/") or ".." in name.split("/"):
            raise IntegrityFailure(f"the ref file {path} is damaged: it points at {name!r}, not at a ref", DAMAGED_HINT)
    raise IntegrityFailure(f"the ref file {path} is damaged: its symbolic refs nest too deep", DAMAGED_HINT)


def list_refs(git_common_dir: Path, prefix: str) -> dict[str, str]:
    """Every ref under `prefix` ("refs/…/") with its object id; lock files left by git are not refs."""
    names = {name for name in _packed_refs(git_common_dir) if name.startswith(prefix)}
    for folder, _, files in os.walk(git_common_dir / prefix):
        relative = Path(folder).relative_to(git_common_dir).as_posix()
        names.update(f"{relative}/{file}" for file in files if not file.endswith(".lock"))
    refs = {name: read_ref(git_common_dir, name) for name in sorted(names)}
    return {name: sha for name, sha in refs.items() if sha is not None}


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
    raise IntegrityFailure(f"the ref file {where} is damaged: it holds {shown!r}, not an object id", DAMAGED_HINT)


def _packed_ref(git_common_dir: Path, name: str) -> str | None:
    sha = _packed_refs(git_common_dir).get(name)
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
