"""Drift runs, reviews and the owner's authority re-derived from the records before them (for `verify`).

A drift record's figures follow from the two stored runs it names; a review's `in_tolerance` from its value
and the bundle's `metadata.outcome`; a pause or rollback on the owner's authority from the reviews it names,
which must be the newest of the live bundle in that environment and out of tolerance as trust/rules.py says.
"""

from __future__ import annotations

from typing import Any

from bundlectl.bundle.record import BundleRecord
from bundlectl.drift.check import rederived_figures
from bundlectl.drift.reviews import review_problem
from bundlectl.errors import BundlectlError
from bundlectl.registry.events import Event, EvidenceData
from bundlectl.storage.base import Storage
from bundlectl.trust.rules import OWNER_PULLS_AFTER, owner_holds_authority

DRIFT_ACTIONS = ("none", "notify", "pause", "rollback")


class WatchLedger:
    """What the records so far say about evidence and reviews, as a reader walks the log in order."""

    def __init__(self) -> None:
        self.evidence: dict[int, EvidenceData] = {}
        self.reviews: dict[tuple[str, str], list[tuple[int, str, bool]]] = {}  # (name, env) → (seq, digest, in tolerance)

    def problem(
        self, storage: Storage, event: Event, registered: dict[tuple[str, str], BundleRecord], live_digest: str | None, live_since: int = 0
    ) -> str | None:
        """What is wrong with `event` given the records before it (`live_digest`: what its environment served, since the
        record `live_since` made it live)."""
        data = event.data
        if event.action == "evidence":
            self.evidence[event.seq] = event.evidence()
            return None
        if event.action not in ("drift", "review") and not (event.action in ("pause", "rollback") and "authority" in data):
            return None
        record = registered.get((str(data["name"]), str(data.get("version"))))
        if event.action in ("drift", "review"):
            if record is None or record.digest != data["digest"] or live_digest != data["digest"]:
                return f"is a {event.action} of {data['name']}@{data['version']}, which was not live in {data['env']}"
            return self._drift(storage, data, record) if event.action == "drift" else self._review(event.seq, data, record)
        return self._authority(data, registered, live_digest, live_since)

    def _review(self, seq: int, data: dict[str, Any], record: BundleRecord) -> str | None:
        problem = review_problem(record, data)
        if problem is None:
            self.reviews.setdefault((data["name"], data["env"]), []).insert(0, (seq, data["digest"], data["in_tolerance"]))
        return problem

    def _drift(self, storage: Storage, data: dict[str, Any], record: BundleRecord) -> str | None:
        runs = [self.evidence.get(data["baseline"]), self.evidence.get(data["run"])]
        if any(r is None or r["kind"] != "eval" or r["digest"] != record.digest for r in runs) or data["baseline"] >= data["run"]:
            return f"names runs {data['baseline']} and {data['run']}, which are not earlier eval runs of {record.ref}"
        if data["action"] not in DRIFT_ACTIONS or (data["action"] == "none") != (data["decision"] == "stable"):
            return f"says it found {data['decision']!r} and did {data['action']!r}"
        try:
            derived = rederived_figures(
                storage,
                record,
                (data["baseline"], runs[0]),  # type: ignore[arg-type]
                (data["run"], runs[1]),  # type: ignore[arg-type]
                data["alpha"],
            )
        except BundlectlError as exc:
            return f"its runs no longer compare ({exc.message.splitlines()[0]})"
        if derived != data["figures"] or derived["decision"] != data["decision"]:
            return "its figures or decision are not what its two runs give"
        return None

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
