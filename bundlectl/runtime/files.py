"""Large component files (indexes, weights) as local read-only copies, kept by digest and checked, never held in memory.

One folder serves every bundle version and every process that shares it: a file is copied in once,
under its sha256, through a temporary name and a rename, so a reader sees a whole verified copy or none.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO

IN_MEMORY_MAX = 4 * 1024 * 1024  # files up to this size are served from memory; larger ones from a local copy
_HEX = re.compile(r"[0-9a-f]{64}")


def copy_path(folder: Path, digest: str) -> Path:
    """Where the copy of the file with this digest lives in `folder` (a flat sha256 layout, as the runtime cache uses)."""
    hexdigest = digest.removeprefix("sha256:")
    if not digest.startswith("sha256:") or not _HEX.fullmatch(hexdigest):
        raise ValueError(f"{digest!r} is not a sha256 digest")
    return folder / hexdigest


def verified_copy(folder: Path, digest: str, size: int) -> Path | None:
    """The copy in `folder`, if there and intact (hashed in chunks; the stat-keyed hash cache spares unchanged files).

    Only a regular file of the right size is hashed: a symlink (to a file someone else may change) or a file of
    another size is no copy, and is replaced.
    """
    from bundlectl.digest.filehash import FileHasher

    target = copy_path(folder, digest)
    try:
        found = target.lstat()
        if not stat.S_ISREG(found.st_mode) or found.st_size != size:
            return None
        return target if FileHasher().digest(target) == digest else None
    except OSError:
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
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        with open(partial, "xb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(partial, 0o444)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
