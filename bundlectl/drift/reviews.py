"""The owner's periodic review of the outcome metric, and the authority two consecutive bad reviews give them.

A review names the live bundle and the value the owner read; whether that value is within tolerance is
derivable from the bundle's own `metadata.outcome` (every reader derives it again: transitions/watch_rule.py). Under trust a review is
signed by the principal `metadata.owner` names (trust/rules.py, which also holds the authority rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from bundlectl.bundle.record import BundleRecord
from bundlectl.drift.authority import owner_authority
from bundlectl.drift.check import live_bundle
from bundlectl.drift.outcomes import live_outcome_mean
from bundlectl.driftcheck.decision import within_tolerance
from bundlectl.errors import Refused, UsageProblem
from bundlectl.registry.events import ReviewData
from bundlectl.registry.log import Planned, append
from bundlectl.registry.read import index_at_head
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting


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


def review(
    open_storage: Callable[[], Storage],
    name: str,
    env: str,
    actor: Acting,
    note: str | None = None,
    *,
    value: float | None = None,
    from_guard: str | None = None,
) -> ReviewResult:
    """`bundlectl review`: record `value`, or the mean of the owner's metric over the live outcomes in `from_guard` (a
    request log, read the way the guard reads it). The registry is opened once the arguments are known to be good."""
    if (value is None) == (from_guard is None):
        raise UsageProblem("give the reviewed value: either --value X or --from-guard SOURCE", "nothing was recorded")
    if value is not None and not math.isfinite(value):
        raise UsageProblem(f"--value {value} must be a finite number", "nothing was recorded")
    storage = open_storage()
    if from_guard is not None:
        value = live_outcome_mean(storage, name, env, from_guard)
    assert value is not None
    return record_review(storage, name, env, value, actor, note)


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
