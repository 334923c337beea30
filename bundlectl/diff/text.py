"""Unified text diffs of component files; binary content is described, not dumped."""

from __future__ import annotations

import difflib

# Files larger than this are described by size and digest, never read: a changed retriever index or
# model file may be gigabytes, and a line diff of it would say nothing anyway.
TEXT_DIFF_MAX = 4 * 1024 * 1024


def unified(path: str, old: bytes | None, new: bytes | None) -> str:
    try:
        before = old.decode("utf-8") if old is not None else ""
        after = new.decode("utf-8") if new is not None else ""
    except UnicodeDecodeError:
        return f"binary file {path} changed ({len(old or b'')} → {len(new or b'')} bytes)\n"
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}" if new is not None else "/dev/null",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def large(path: str, old: tuple[int, str] | None, new: tuple[int, str] | None) -> str:
    """A file too large to diff, by (size, digest) before and after (None: absent on that side)."""

    def side(entry: tuple[int, str] | None) -> str:
        return "absent" if entry is None else f"{entry[0]} bytes, {entry[1][:19]}…"

    return f"large file {path} changed ({side(old)} → {side(new)}); not diffed\n"
