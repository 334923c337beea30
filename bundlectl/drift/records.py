"""Reviews and the owner's authority re-derived from the records before them (for `verify`).

A review's `in_tolerance` follows from its value and the bundle's `metadata.outcome`; a pause or rollback on the
owner's authority from the reviews it names, which must be the newest of the live bundle in that environment and
out of tolerance as trust/rules.py says. Drift records are judged by every reader (transitions/drift_rule.py).
"""

from __future__ import annotations

from typing import Any

from bundlectl.bundle.record import BundleRecord
from bundlectl.drift.reviews import review_problem
from bundlectl.registry.events import Event
from bundlectl.storage.base import Storage
from bundlectl.trust.rules import OWNER_PULLS_AFTER, owner_holds_authority


class WatchLedger:
    """What the records so far say about reviews, as a reader walks the log in order."""

    def __init__(self) -> None:
        self.reviews: dict[tuple[str, str], list[tuple[int, str, bool]]] = {}  # (name, env) → (seq, digest, in tolerance)

    def problem(
        self, storage: Storage, event: Event, registered: dict[tuple[str, str], BundleRecord], live_digest: str | None, live_since: int = 0
    ) -> str | None:
        """What is wrong with `event` given the records before it (`live_digest`: what its environment served, since the
        record `live_since` made it live)."""
        data = event.data
        if event.action != "review" and not (event.action in ("pause", "rollback") and "authority" in data):
            return None
        record = registered.get((str(data["name"]), str(data.get("version"))))
        if event.action == "review":
            if record is None or record.digest != data["digest"] or live_digest != data["digest"]:
                return f"is a review of {data['name']}@{data['version']}, which was not live in {data['env']}"
            return self._review(event.seq, data, record)
        return self._authority(data, registered, live_digest, live_since)

    def _review(self, seq: int, data: dict[str, Any], record: BundleRecord) -> str | None:
        problem = review_problem(record, data)
        if problem is None:
            self.reviews.setdefault((data["name"], data["env"]), []).insert(0, (seq, data["digest"], data["in_tolerance"]))
        return problem

    def _authority(
        self, data: dict[str, Any], registered: dict[tuple[str, str], BundleRecord], live_digest: str | None, live_since: int
    ) -> str | None:
        authority = data["authority"]
        live = next((r for r in registered.values() if r.digest == live_digest and r.name == data["name"]), None)
        reviews = [r for r in self.reviews.get((data["name"], data["env"]), []) if r[1] == live_digest and r[0] > live_since]
        reviews = reviews[:OWNER_PULLS_AFTER]
        if live is None or authority.get("owner") != live.metadata.get("owner"):
            return f"claims the authority of {authority.get('owner')!r}, who does not own what was live"
        if authority.get("reviews") != [r[0] for r in reviews] or not owner_holds_authority([r[2] for r in reviews]):
            return (
                f"claims the owner's authority on reviews {authority.get('reviews')}, but the owner holds it only after "
                f"{OWNER_PULLS_AFTER} consecutive reviews outside tolerance"
            )
        return None
