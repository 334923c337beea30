"""Appending lines to a log that must never fail its writer: a full disk, a file size limit or a stalled pipe drops
the line, counts it, and the writer goes on.

Each line is one `write` to a descriptor opened with O_APPEND (and O_NONBLOCK, so a FIFO whose reader stalls
refuses rather than blocks). A line written only in part ends the file in a torn line; the next line that can be
written starts on a new line, after a note the caller supplies saying how many were dropped, so a reader of the
file sees the gap instead of silently missing records.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

# O_NOFOLLOW: a symlink planted at the log's path (a shared log folder) would have the lines appended to any file
# this process may write, with client-chosen request ids in them; it is refused (ELOOP) instead.
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


class LineAppender:
    """A log file open for appending; `append` never raises OSError (`dropped` counts what it could not write)."""

    def __init__(self, path: Path | str, dropped_note: Callable[[int], str]) -> None:
        self.path = Path(path)
        self._descriptor: int | None = os.open(self.path, _FLAGS, 0o644)  # OSError here: the caller's setup is wrong
        self._note = dropped_note
        self._lock = threading.Lock()  # one line at a time, so a note and the line after it stay together
        self.dropped = 0  # lines not written, ever
        self._unnoted = 0  # dropped lines no note in the file mentions yet
        self._torn = False  # the file ends in a partly written line
        self.last_error: str | None = None

    def append(self, line: str) -> bool:
        """Write `line` (without its line end); False, counted in `dropped`, when it could not be written whole."""
        with self._lock:
            if self._descriptor is None:  # after close(): the process is stopping, nothing is owed to the file
                return True
            text = ("\n" if self._torn else "") + (self._note(self._unnoted) + "\n" if self._unnoted else "") + line + "\n"
            data = text.encode("utf-8", "surrogateescape")
            try:
                written = os.write(self._descriptor, data)
            except OSError as exc:  # ENOSPC, EFBIG (RLIMIT_FSIZE), EAGAIN (a stalled pipe), EIO
                self._drop(exc.strerror or str(exc))
                return False
            if written < len(data):
                self._torn = True
                self._drop("the disk took only part of the line")
                return False
            self._torn, self._unnoted = False, 0
            return True

    def _drop(self, why: str) -> None:
        self.dropped += 1
        self._unnoted += 1
        self.last_error = why

    def close(self) -> None:
        """Close the file, trying once more to note what was dropped; never raises OSError."""
        with self._lock:
            descriptor, self._descriptor = self._descriptor, None
            if descriptor is None:
                return
            try:
                if self._unnoted:
                    os.write(descriptor, (("\n" if self._torn else "") + self._note(self._unnoted) + "\n").encode())
            except OSError:
                pass
            try:
                os.close(descriptor)
            except OSError:
                pass
