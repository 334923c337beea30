"""Streaming sha256 of files, with a stat-keyed cache so unchanged large files are hashed once.

The cache is an SQLite file under the user cache folder and is safe to delete; it is used only while that folder
and the file are this user's alone (no one else may write them). An entry is trusted
only while device, inode, size, mtime and ctime all match, and files changed within a second of
hashing are not cached at all (the "racy" case git guards against the same way).
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from bundlectl.digest.canonical import PREFIX

CHUNK = 1024 * 1024
CACHE_MIN_BYTES = 1024 * 1024
RACY_WINDOW_NS = 1_000_000_000

Progress = Callable[[int], None]


def cache_dir() -> Path:
    """$BUNDLECTL_CACHE_DIR, else the platform's user cache folder: $XDG_CACHE_HOME/bundlectl or ~/.cache/bundlectl
    on Linux, ~/Library/Caches/bundlectl on macOS, %LOCALAPPDATA%\\bundlectl\\Cache on Windows."""
    explicit = os.environ.get("BUNDLECTL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    from platformdirs import user_cache_path  # only here: the read path of a git registry never needs it

    return user_cache_path("bundlectl", appauthor=False)


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """Hash a regular file (a FIFO or a device is refused, never read); `progress` gets the byte count of each chunk."""
    from bundlectl.safeio.regular import open_regular

    with open_regular(path) as handle:
        return sha256_handle(handle, progress)


def sha256_handle(handle: io.RawIOBase, progress: Progress | None = None) -> str:
    """Hash an open file from where it is, in 1 MiB chunks into one reused buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while True:
        count = handle.readinto(buffer)
        if not count:
            break
        digest.update(view[:count])
        if progress is not None:
            progress(count)
    return PREFIX + digest.hexdigest()


def _private(path: Path) -> bool:
    """Only this user may change it: owned by this user and writable by no one else (a missing file is fine).

    The cache decides which files count as verified (a runtime's local copies of large files among them): in a
    folder others can write (a shared volume), anyone could write a row that vouches for a file of their own."""
    if not hasattr(os, "geteuid"):
        return True
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return True
    return found.st_uid == os.geteuid() and not found.st_mode & 0o022


class FileHasher:
    """Hashes files through the cache; one instance per command."""

    def __init__(self, cache_path: Path | None = None) -> None:
        self._cache_path = cache_path or cache_dir() / "filehash.sqlite"
        self._db: sqlite3.Connection | None = None
        self._db_failed = False

    def digest(
        self, path: Path, progress: Progress | None = None, *, follow: bool = True, hard_links: bool = True, same_as: tuple[int, int] | None = None
    ) -> str:
        """The sha256 of the regular file at `path`, opened once and checked through its descriptor (see open_regular
        for `follow`, `hard_links` and `same_as`): what is hashed is what was opened, whatever the path names later."""
        from bundlectl.safeio.regular import open_regular

        with open_regular(path, follow=follow, hard_links=hard_links, same_as=same_as) as handle:
            return self.digest_open(path, handle, progress)

    def digest_open(self, path: Path, handle: io.RawIOBase, progress: Progress | None = None) -> str:
        """The sha256 of an open regular file, through the cache keyed by its descriptor's stat."""
        stat = os.fstat(handle.fileno())
        if stat.st_size < CACHE_MIN_BYTES:
            return sha256_handle(handle, progress)
        key = (str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        cached = self._lookup(key)
        if cached:
            if progress is not None:
                progress(stat.st_size)
            return cached
        started = time.time_ns()
        value = sha256_handle(handle, progress)
        if max(stat.st_mtime_ns, stat.st_ctime_ns) < started - RACY_WINDOW_NS and os.fstat(handle.fileno()).st_ctime_ns == stat.st_ctime_ns:
            self._store(key, value)
        return value

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and not self._db_failed:
            try:
                self._cache_path.parent.mkdir(parents=True, exist_ok=True)
                if not (_private(self._cache_path.parent) and _private(self._cache_path)):
                    self._db_failed = True  # whoever else may write it could vouch for any file: hash every time
                    return None
                db = sqlite3.connect(self._cache_path, timeout=5)
                db.execute(
                    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, dev INT, ino INT, size INT, mtime_ns INT, ctime_ns INT, digest TEXT)"
                )
                self._db = db
            except (OSError, sqlite3.Error):
                self._db_failed = True  # no cache is slower, never wrong
        return self._db

    def _lookup(self, key: tuple[str, int, int, int, int, int]) -> str | None:
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute(
                "SELECT digest FROM files WHERE path=? AND dev=? AND ino=? AND size=? AND mtime_ns=? AND ctime_ns=?",
                key,
            ).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def _store(self, key: tuple[str, int, int, int, int, int], value: str) -> None:
        db = self._connect()
        if db is None:
            return
        try:
            with db:
                db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?)", (*key, value))
        except sqlite3.Error:
            pass
