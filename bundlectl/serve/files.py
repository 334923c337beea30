"""Component files by content: `GET /v1/bundles/{digest}/files/{path}`, only of bundles a runtime verified and held.

A path is looked up as a key of the bundle's file table, never joined to a folder, so `..` or an absolute
path names nothing. The ETag is the file's sha256 (strong), the reply immutable; one byte range is honoured.
"""

from __future__ import annotations

import io
import os
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bundlectl.errors import BundlectlError
from bundlectl.runtime import LiveBundle
from bundlectl.serve.fleet import Fleet
from bundlectl.serve.replies import Reply, ofrep_error

IMMUTABLE = "public, max-age=31536000, immutable"
_RECENT = 16  # bundles served before the current ones: a client that evaluated just before a promote still gets its files
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class FileReply(Reply):
    """A reply whose body is `length` bytes of a local file from `offset` (large files are never read whole)."""

    path: Path | None = None
    offset: int = 0
    length: int = 0
    digest: str = ""  # what the whole file must hash to: checked on the descriptor it is sent from (open_verified)
    size: int = 0


class FileStore:
    """The files of the bundles the runtimes hold now, and of the last few they held."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._recent: OrderedDict[str, LiveBundle] = OrderedDict()

    def remember(self, bundle: LiveBundle) -> None:
        """Keep serving this verified bundle's files after the runtimes move on (the evaluator calls it for each
        bundle it answers with, so a client that evaluated just before a promote still gets its files)."""
        if bundle.digest not in self._recent:
            self._recent[bundle.digest] = bundle
            while len(self._recent) > _RECENT:
                self._recent.popitem(last=False)

    def _bundle(self, digest: str) -> LiveBundle | None:
        held: Iterable[LiveBundle] = (bundle for runtime in self.fleet.runtimes.values() for bundle in runtime.held())
        for bundle in held:
            self.remember(bundle)
        return self._recent.get(digest)

    def reply(self, digest: str, relpath: str, range_header: str | None, if_none_match: str | None) -> Reply:
        bundle = self._bundle(digest)
        entry = None
        if bundle is not None:
            entry = next((c.files[relpath] for c in bundle.record.components.values() if relpath in c.files), None)
        if bundle is None or entry is None:
            return ofrep_error(404, None, f"no file {relpath!r} in a bundle {digest!r} served here")
        etag = f'"{entry.digest.removeprefix("sha256:")}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes"}
        if if_none_match is not None and etag in (tag.strip() for tag in if_none_match.split(",")):
            return Reply(304, headers=headers, content_type=None)
        size = entry.size
        offset, length, status = 0, size, 200
        if range_header is not None:
            wanted = byte_range(range_header, size)
            if wanted is None:
                return ofrep_error(
                    416,
                    None,
                    f"range {range_header!r} is not within the file's {size} bytes",
                    headers={**headers, "Content-Range": f"bytes */{size}"},
                )
            if wanted != (0, size):
                offset, length, status = wanted[0], wanted[1] - wanted[0], 206
                headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{size}"
        media = "application/octet-stream"
        if relpath in bundle.files:
            return Reply(status, bytes(bundle.files[relpath][offset : offset + length]), headers, media)
        return FileReply(status, b"", headers, media, bundle.paths[relpath], offset, length, entry.digest, size)


def open_verified(path: Path, digest: str, size: int) -> io.FileIO | None:
    """The verified local copy of a large file, opened to be sent; None when what the path names now is not that file.

    The copy lives in a folder other processes may write (a shared cache): since the runtime checked it, it may have
    been replaced by a symlink to a secret, a FIFO, or another file of the same size. It is opened once without
    following a link and without blocking, and hashed through that descriptor (the stat-keyed hash cache makes this
    a lookup while the copy is untouched), so only the verified bytes are ever sent under the digest's ETag.
    """
    from bundlectl.digest.filehash import FileHasher
    from bundlectl.safeio.regular import open_regular

    try:
        handle = open_regular(path, follow=False)
    except (OSError, BundlectlError):
        return None
    try:
        if os.fstat(handle.fileno()).st_size == size and FileHasher().digest_open(path, handle) == digest:
            return handle
    except OSError:
        pass
    handle.close()
    return None


def _position(digits: str) -> int:
    """A byte position from the header: any number of digits (int() refuses over 4300), capped far past any file."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else 10**18


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The [start, end) of a single `bytes=` range; the whole file for what this server does not split (several
    ranges, another unit); None when the range lies outside the file (416)."""
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return (0, size)
    first, last = match.groups()
    if not first and not last:
        return (0, size)
    if not first:  # the last N bytes
        n = _position(last)
        return (max(0, size - n), size) if n > 0 and size > 0 else None
    start = _position(first)
    end = min(size, _position(last) + 1) if last else size
    if start >= size or end <= start:
        return None
    return (start, end)
