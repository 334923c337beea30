"""A unified diff laid out side by side: removed lines on the left beside the added lines that replace them."""

from __future__ import annotations

from typing import NamedTuple


class Row(NamedTuple):
    kind: str  # same | changed | removed | added | hunk
    old: str | None
    new: str | None


def side_by_side(unified: str) -> list[Row]:
    rows: list[Row] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        for index in range(max(len(removed), len(added))):
            old = removed[index] if index < len(removed) else None
            new = added[index] if index < len(added) else None
            rows.append(Row("changed" if old is not None and new is not None else "removed" if new is None else "added", old, new))
        removed.clear()
        added.clear()

    for line in unified.splitlines():
        if line.startswith(("--- ", "+++ ")) and not rows and not removed and not added:
            continue  # the file header
        if line.startswith("@@"):
            flush()
            rows.append(Row("hunk", line, line))
        elif line.startswith("-"):
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
        elif line.startswith(" "):
            flush()
            rows.append(Row("same", line[1:], line[1:]))
        elif line.startswith("\\"):
            continue  # "\ No newline at end of file"
        else:
            flush()
            rows.append(Row("same", line, line))  # binary or large-file descriptions
    flush()
    return rows
