"""Reading git refs straight from the files, so read commands need neither GitPython nor a subprocess.

Covers loose refs and packed-refs in the repository's common folder (worktrees included).
Writes always go through git itself.
"""

from __future__ import annotations

from pathlib import Path

ZERO = "0" * 40


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
    """Object id a ref points to, or None."""
    try:
        value = (git_common_dir / name).read_text().strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return _packed_refs(git_common_dir).get(name)
    if value.startswith("ref:"):
        return read_ref(git_common_dir, value[4:].strip())
    return value or None


def _packed_refs(git_common_dir: Path) -> dict[str, str]:
    refs: dict[str, str] = {}
    try:
        text = (git_common_dir / "packed-refs").read_text()
    except FileNotFoundError:
        return refs
    for line in text.splitlines():
        if line and line[0] not in "#^":
            sha, _, ref = line.partition(" ")
            refs[ref] = sha
    return refs
