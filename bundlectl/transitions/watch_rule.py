"""Reviews and the owner's authority to pull (issue 29), judged by every reader, not only `verify`.

A review's signer is checked against the `owner` the review itself names, and a pause or rollback on the owner's
authority against the `authority.owner` it names: so the signature alone proves nothing about the bundle's owner.
These rules tie both to the live bundle's `metadata.owner`, and the authority to the newest reviews of it.
"""

from __future__ import annotations

from typing import Any

from bundlectl.driftcheck.decision import within_tolerance
from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.storage.base import Storage
from bundlectl.transitions.failures import InvalidTransition
from bundlectl.trust.rules import OWNER_PULLS_AFTER, owner_holds_authority


class ForgedWatch(InvalidTransition):
    """A review, or a pause or rollback on the owner's authority, that the log before it does not allow."""


def _live_metadata(index: Index, event: Event) -> dict[str, Any]:
    data = event.data
    pointer = index.pointer(str(data.get("name")), str(data.get("env")))
    if pointer is None or (event.action == "review" and (pointer.digest, pointer.version) != (data.get("digest"), data.get("version"))):
        raise ForgedWatch(event, f"is a {event.action} of {data.get('name')}@{data.get('version')}, which is not live in {data.get('env')}")
    bundle = index.bundle(pointer.name, pointer.version)
    assert bundle is not None  # a pointer names a registered bundle (check_move)
    return dict(bundle.record().metadata)


def check_review(index: Index, storage: Storage, event: Event) -> None:
    data = event.data
    metadata = _live_metadata(index, event)
    outcome = metadata.get("outcome")
    if not outcome:
        raise ForgedWatch(event, f"reviews {data.get('name')}, whose live bundle declares no outcome metric")
    try:
        value = float(data["value"])
        derived = {"owner": str(metadata.get("owner")), "metric": outcome["metric"], "in_tolerance": within_tolerance(outcome, value)}
    except (KeyError, TypeError, ValueError) as exc:
        raise ForgedWatch(event, f"is a review that does not read ({exc})") from None
    wrong = sorted(k for k, v in derived.items() if data.get(k) != v)
    if wrong:
        raise ForgedWatch(event, f"its {', '.join(wrong)} disagree with the live bundle and the value it names")


def check_owner_pull(index: Index, storage: Storage, event: Event) -> None:
    """A pause or rollback claiming the owner's authority: the live bundle's owner, on its newest reviews, out of tolerance."""
    authority = event.data.get("authority")
    if authority is None:
        return
    data = event.data
    metadata = _live_metadata(index, event)
    if not isinstance(authority, dict) or authority.get("owner") != metadata.get("owner"):
        owner = authority.get("owner") if isinstance(authority, dict) else authority
        raise ForgedWatch(event, f"claims the authority of {owner!r}, who does not own what is live in {data.get('env')}")
    pointer = index.pointer(str(data["name"]), str(data["env"]))
    assert pointer is not None
    reviews = [r for r in index.watches(pointer.name, pointer.env, "review") if r.data["digest"] == pointer.digest and r.seq > pointer.seq]
    newest = reviews[:OWNER_PULLS_AFTER]
    if authority.get("reviews") != [r.seq for r in newest] or not owner_holds_authority([r.data["in_tolerance"] for r in newest]):
        raise ForgedWatch(
            event,
            f"claims the owner's authority on reviews {authority.get('reviews')}, but the owner holds it "
            f"only after {OWNER_PULLS_AFTER} consecutive reviews outside tolerance",
        )
