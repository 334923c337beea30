"""The owner's periodic review of the outcome metric, and the authority two consecutive bad reviews give them.

A review names the live bundle and the value the owner read; whether that value is within tolerance is
derivable from the bundle's own `metadata.outcome` (`review_problem` re-derives it). Under trust a review is
signed by the principal `metadata.owner` names (trust/rules.py, which also holds the authority rule).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from bundlectl.bundle.record import BundleRecord
from bundlectl.drift.authority import owner_authority
from bundlectl.drift.check import live_bundle
from bundlectl.driftcheck.decision import within_tolerance
from bundlectl.errors import Refused
from bundlectl.registry.events import ReviewData
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append
from bundlectl.registry.read import index_at_head
from bundlectl.registry.rows import PointerRow
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting
from bundlectl.trust.rules import OWNER_PULLS_AFTER


class ReviewResult(NamedTuple):
    name: str
    env: str
    version: str
    digest: str
    owner: str
    outcome: dict[str, Any]
    value: float
    in_tolerance: bool
    seq: int
    owner_authority: bool  # this review (with the ones before) gives the owner the authority to pause or roll back

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def review_data(record: BundleRecord, env: str, value: float) -> ReviewData:
    """The payload of a review of RECORD in ENV; everything but `value` comes from the record itself."""
    outcome = record.metadata.get("outcome")
    if not outcome:
        raise Refused(
            f"{record.ref} declares no outcome metric (metadata.outcome), so there is nothing to review",
            "declare metadata.outcome: {metric, target, tolerance} in bundle.yaml",
        )
    return ReviewData(
        name=record.name,
        env=env,
        digest=record.digest,
        version=record.version,
        owner=str(record.metadata["owner"]),
        metric=outcome["metric"],
        value=value,
        in_tolerance=within_tolerance(outcome, value),
    )


def review_problem(record: BundleRecord, data: dict[str, Any]) -> str | None:
    """How a stored review disagrees with what its bundle and value give (for readers); None when it agrees."""
    try:
        derived = review_data(record, data["env"], data["value"])
    except Refused as exc:
        return exc.message
    wrong = sorted(k for k, v in derived.items() if v != data.get(k))
    return f"its {', '.join(wrong)} disagree with {record.ref} and the value it names" if wrong else None


def record_review(storage: Storage, name: str, env: str, value: float, actor: Acting, note: str | None = None) -> ReviewResult:
    index = index_at_head(storage)
    pointer, bundle = live_bundle(index, name, env)
    record = bundle.record()
    data = review_data(record, env, value)
    event = append(storage, lambda _: Planned("review", data), actor, note)
    assert event is not None
    held = owner_authority(index_at_head(storage), pointer) is not None
    return ReviewResult(
        name, env, pointer.version, pointer.digest, data["owner"], record.metadata["outcome"], value, data["in_tolerance"], event.seq, held
    )


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
