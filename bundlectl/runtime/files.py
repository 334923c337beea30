"""Large component files (indexes, weights) as local read-only copies, kept by digest and checked, never held in memory.

One folder serves every bundle version and every process that shares it: a file is copied in once,
under its sha256, through a temporary name and a rename, so a reader sees a whole verified copy or none.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from bundlectl.digest.canonical import hex_of
from bundlectl.foundation.names import is_digest

IN_MEMORY_MAX = 4 * 1024 * 1024  # files up to this size are served from memory; larger ones from a local copy
_ABANDONED_AFTER = 10  # seconds unwritten (and unlocked): older than the gap between creating a partial file and locking it


def copy_path(folder: Path, digest: str) -> Path:
    """Where the copy of the file with this digest lives in `folder` (a flat sha256 layout, as the runtime cache uses)."""
    if not is_digest(digest):
        raise ValueError(f"{digest!r} is not a sha256 digest")
    return folder / hex_of(digest)


def verified_copy(folder: Path, digest: str, size: int) -> Path | None:
    """The copy in `folder`, if there and intact (hashed in chunks; the stat-keyed hash cache spares unchanged files).

    Only a regular file of the right size is hashed: a symlink (to a file someone else may change) or a file of
    another size is no copy, and is replaced.
    """
    from bundlectl.digest.filehash import FileHasher
    from bundlectl.errors import BundlectlError
    from bundlectl.safeio.regular import open_regular

    target = copy_path(folder, digest)
    try:
        with open_regular(target, follow=False) as handle:  # a FIFO or a symlink put here is refused, not waited on
            if os.fstat(handle.fileno()).st_size != size:
                return None
            return target if FileHasher().digest_open(target, handle) == digest else None
    except (OSError, BundlectlError):
        return None


def local_copy(folder: Path, digest: str, size: int, write: Callable[[IO[bytes]], object]) -> Path:
    """The verified copy of the file with this digest: the one already there, else `write` fills a new one.

    `write` must raise if the bytes do not match the digest (the registry's chunked copy does, after the last
    chunk); the partial file is then removed, and a damaged copy found here is replaced whole, never edited.
    """
    existing = verified_copy(folder, digest, size)
    if existing is not None:
        return existing
    target = copy_path(folder, digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        with open(partial, "xb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # held while it is written: a partial file nobody holds was abandoned
            write(handle)
            handle.flush()
            os.fchmod(handle.fileno(), 0o444)  # on the descriptor: a symlink swapped in for the partial name is not followed
            os.fsync(handle.fileno())
            written = os.fstat(handle.fileno())
        os.replace(partial, target)
        placed = os.lstat(target)
        if (placed.st_dev, placed.st_ino) != (written.st_dev, written.st_ino):  # what was renamed is not what we wrote
            from bundlectl.errors import IntegrityFailure

            target.unlink(missing_ok=True)
            raise IntegrityFailure(
                f"the copy of {digest} being written in {folder} was replaced by another file (something else writes that folder)",
                "give the runtime a folder only it can write",
            )
    finally:
        partial.unlink(missing_ok=True)
    return target


def _remove_abandoned(target: Path) -> None:
    """Remove the partial copies of `target` that a killed process left (a large file each, never cleaned otherwise).

    A writer holds an flock on its partial file until it is renamed into place; the kernel drops it when the
    writer dies. One that is unlocked and unwritten for a while is therefore abandoned.
    """
    from bundlectl.errors import BundlectlError
    from bundlectl.safeio.regular import open_regular

    for partial in target.parent.glob(f".{target.name}.*.partial"):
        try:
            with open_regular(partial, follow=False) as handle:
                if time.time() - os.fstat(handle.fileno()).st_mtime < _ABANDONED_AFTER:
                    continue
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # another process is writing it
                partial.unlink(missing_ok=True)
        except (OSError, BundlectlError):
            continue
