"""Unified text diffs of component files; binary content is described, not dumped."""

from __future__ import annotations

import difflib


def unified(path: str, old: bytes | None, new: bytes | None) -> str:
    try:
        before = old.decode("utf-8") if old is not None else ""
        after = new.decode("utf-8") if new is not None else ""
    except UnicodeDecodeError:
        return f"binary file {path} changed ({len(old or b'')} → {len(new or b'')} bytes)\n"
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}" if new is not None else "/dev/null",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
