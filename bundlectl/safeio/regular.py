"""Opening a file that must be a regular file: once, without blocking, checked through the descriptor it is read from.

A path from a user or from a folder others can write may name a FIFO (open and read wait forever), a device
(`/dev/zero` never ends), or a symlink swapped in after it was checked. The file is opened with O_NONBLOCK (a
FIFO opens at once), `fstat` on that descriptor says what it is, and only a regular file is read, up to a bound.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

from bundlectl.errors import Refused

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafeFile(Refused):
    """A path that is not a regular file we may read (a FIFO, a device, a swapped or hard link, too large)."""

    def __init__(self, label: str, why: str, hint: str | None = None) -> None:
        super().__init__(f"{label} {why}", hint or "give the path of a regular file")
        self.label, self.why = label, why


def kind_of(mode: int) -> str:
    """What a file of this mode is, as people say it."""
    kinds = [
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symlink"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def open_regular(
    path: Path | str, label: str | None = None, *, follow: bool = True, hard_links: bool = True, same_as: tuple[int, int] | None = None
) -> io.FileIO:
    """`path` opened for reading if it is a regular file; UnsafeFile otherwise, before a byte is read.

    `follow=False` refuses a symlink as the last component (O_NOFOLLOW); `hard_links=False` refuses a regular file
    with more than one link (its content may be another file's, outside the folder it was found in); `same_as`
    (st_dev, st_ino) refuses a file that is not the one checked before (swapped since). OSError for a missing or
    unreadable path, for the caller to say so in its words.
    """
    label = label or str(path)
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC | (0 if follow else _NOFOLLOW)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        if not follow and exc.errno == errno.ELOOP:
            raise UnsafeFile(label, "is a symlink, which is not followed here", "replace the symlink by the file itself") from None
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing with no reader
            raise UnsafeFile(label, "is a socket or a device, not a regular file") from None
        raise
    try:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            raise UnsafeFile(label, f"is {kind_of(found.st_mode)}, not a regular file")
        if not hard_links and found.st_nlink > 1:
            raise UnsafeFile(
                label,
                f"has {found.st_nlink} hard links (its content is also another file's)",
                "copy the file instead of linking it, or allow hard links explicitly",
            )
        if same_as is not None and (found.st_dev, found.st_ino) != same_as:
            raise UnsafeFile(label, "was replaced while it was read (a different file is there now)", "try again once nothing changes the folder")
        if _NONBLOCK:
            os.set_blocking(descriptor, True)
        return io.FileIO(descriptor, "rb", closefd=True)
    except BaseException:
        os.close(descriptor)
        raise


def read_regular(
    path: Path | str, limit: int, label: str | None = None, *, follow: bool = True, hard_links: bool = True, same_as: tuple[int, int] | None = None
) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (UnsafeFile if larger, even if it grows while read)."""
    label = label or str(path)
    with open_regular(path, label, follow=follow, hard_links=hard_links, same_as=same_as) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise UnsafeFile(label, f"is {size} bytes, over the {limit}-byte limit for this kind of file", "keep this file small")
        data = bytearray()
        while len(data) <= limit:
            chunk = handle.read(min(1024 * 1024, limit + 1 - len(data)))
            if not chunk:
                break
            data += chunk
        if len(data) > limit:
            raise UnsafeFile(label, f"grew past the {limit}-byte limit while it was read", "keep this file small")
        return bytes(data)


def identity(path: Path | str) -> tuple[int, int]:
    """(st_dev, st_ino) of what `path` names now, symlinks followed: what open_regular(same_as=…) compares."""
    found = os.stat(path)
    return found.st_dev, found.st_ino
