"""The reviews of the live bundle, and whether they give its owner the authority to pull it (read by `status`, so light)."""

from __future__ import annotations

from typing import Any

from bundlectl.errors import Refused
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


def owner_authority_claim(index: Index, pointer: PointerRow) -> dict[str, Any]:
    """What a pause or rollback by the owner records: whose authority, resting on which reviews; Refused without it."""
    seqs = owner_authority(index, pointer)
    bundle = index.served_bundle(pointer.name, pointer.version, "is live")
    owner = str(bundle.record().metadata["owner"])
    if seqs is None:
        raise Refused(
            f"the owner {owner} of {pointer.name} holds no authority to pull it from {pointer.env}: that takes "
            f"{OWNER_PULLS_AFTER} consecutive reviews outside tolerance; nothing was changed",
            f"record reviews with `bundlectl review {pointer.name} --env {pointer.env} --value X`, or ask a promoter of {pointer.env}",
        )
    return {"owner": owner, "reviews": seqs}
