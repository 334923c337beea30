"""The reviews of the live bundle, and whether they give its owner the authority to pull it (read by `status`, so light)."""

from __future__ import annotations

from bundlectl.registry.index import Index
from bundlectl.registry.rows import PointerRow, WatchRow
from bundlectl.trust.rules import OWNER_PULLS_AFTER, owner_holds_authority


def reviews_of(index: Index, pointer: PointerRow, at: str | None = None) -> list[WatchRow]:
    """Reviews of the live bundle in its environment since it last went live there, newest first (a review of what was
    live before does not count, nor one of this bundle from an earlier time it was live, before another replaced it)."""
    return [r for r in index.watches(pointer.name, pointer.env, "review", at=at) if r.data["digest"] == pointer.digest and r.seq > pointer.seq]


def owner_authority(index: Index, pointer: PointerRow) -> list[int] | None:
    """The seqs of the reviews that give the owner the authority to pull the live bundle, or None."""
    reviews = reviews_of(index, pointer)[:OWNER_PULLS_AFTER]
    return [r.seq for r in reviews] if owner_holds_authority([r.data["in_tolerance"] for r in reviews]) else None
