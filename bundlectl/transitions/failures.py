"""The named integrity failures of records that do not follow from the log before them (all exit 5)."""

from __future__ import annotations

from bundlectl.errors import IntegrityFailure
from bundlectl.registry.events import Event

HINT = (
    "the record was appended outside bundlectl (or by a bundlectl that skipped a rule); restore the registry from "
    "a clone or backup taken before it, and find out which key signed it"
)


class InvalidTransition(IntegrityFailure):
    """A record that is well formed and may be signed, but does not follow from the records before it."""

    def __init__(self, event: Event, message: str) -> None:
        super().__init__(f"log record seq {event.seq} ({event.action}, {str(event.id)[:12]}): {message}", HINT)
        self.seq = event.seq


class ForgedGate(InvalidTransition):
    """A promotion (or canary start, or gated rollback) whose gate, judged again from the log before it, fails."""


class ForgedEvidence(InvalidTransition):
    """An evidence record whose report was never stored, or whose figures its stored report does not give."""


class UnregisteredApproval(InvalidTransition):
    """An approval of a bundle digest that is not registered under the name and version it gives."""


class ForgedMove(InvalidTransition):
    """A pointer move that names an unregistered bundle, or a pointer state the log before it never had."""


class ForgedDrift(InvalidTransition):
    """A drift record whose runs, alpha, decision, figures or action are not what the log before it and its two
    stored runs give: a `stable` over runs that show drift would keep the schedule fresh and the drift hidden."""
