"""The incremental driver: which rule judges which record; the read index calls it for each record it takes in.

Each record is judged once per machine: the index commits a record's rows only after it was judged, so the
index's head is the end of the judged prefix (a record it refuses leaves the index where it was).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.storage.base import Storage
from bundlectl.transitions.approval_rule import check_approval
from bundlectl.transitions.canary_rule import check_canary
from bundlectl.transitions.drift_rule import check_drift
from bundlectl.transitions.evidence_rule import check_evidence
from bundlectl.transitions.move_rule import check_move
from bundlectl.transitions.watch_rule import check_owner_pull, check_review

Rule = Callable[[Index, Storage, Event], dict[str, Any] | None]  # what a rule derived, kept in the record's row


def _rollback(index: Index, storage: Storage, event: Event) -> None:
    check_owner_pull(index, storage, event)  # against the state before the move
    check_move(index, storage, event)


RULES: dict[str, Rule] = {
    "evidence": check_evidence,
    "approval": check_approval,
    "promote": check_move,
    "rollback": _rollback,
    "canary": check_canary,
    "canary-advance": check_canary,
    "canary-rollback": check_canary,
    # issue 29: a review names its own owner and an owner's pull its own authority; the signature alone proves neither
    "review": check_review,
    "pause": check_owner_pull,
    # a drift record's figures, decision and action are derived again from its two stored runs: a `stable` over a run
    # that shows drift would keep the schedule fresh and the drift hidden
    "drift": check_drift,
}


class RecordJudge:
    """Judges records read from one storage against the index state just before each."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def wants(self, event: Event) -> bool:
        return event.action in RULES

    def __call__(self, index: Index, event: Event) -> dict[str, Any] | None:
        return RULES[event.action](index, self.storage, event)
