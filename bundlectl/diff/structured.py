"""Structured comparison of plain data through deepdiff, flattened into readable path/old/new changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    path: str
    change: str  # "added", "removed" or "changed"
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "old": self.old, "new": self.new}


def format_path(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def structured_changes(old: Any, new: Any, ignore_order: bool = True) -> list[Change]:
    """Every leaf that differs between `old` and `new`; list order ignored by default (sets of rules)."""
    if old == new:
        return []
    from deepdiff import DeepDiff

    diff = DeepDiff(old, new, view="tree", ignore_order=ignore_order, verbose_level=2)
    changes: list[Change] = []
    for report, levels in diff.items():
        for level in levels:
            path = format_path(level.path(output_format="list"))
            if report.endswith("_added"):
                changes.append(Change(path, "added", None, level.t2))
            elif report.endswith("_removed"):
                changes.append(Change(path, "removed", level.t1, None))
            else:
                changes.append(Change(path, "changed", level.t1, level.t2))
    return sorted(changes, key=lambda c: c.path)
