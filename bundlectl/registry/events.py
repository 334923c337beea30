"""Event records of the log: what each payload holds, and the hash chain that links them.

Every payload names the sha256 of the previous payload (`prev`) and its own sequence number, so the
chain can be checked without trusting the backend (git's commit chain is a second, independent one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bundlectl.digest.canonical import canonical_json, sha256_of
from bundlectl.errors import IntegrityFailure
from bundlectl.storage.base import StoredEvent


@dataclass(frozen=True)
class Event:
    seq: int
    prev: str | None
    time: str
    actor: str
    action: str
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None  # the backend's id, once stored

    def payload(self) -> bytes:
        return canonical_json(
            {"seq": self.seq, "prev": self.prev, "time": self.time, "actor": self.actor,
             "action": self.action, "reason": self.reason, "data": self.data}
        )

    @property
    def hash(self) -> str:
        return sha256_of(self.payload())


def parse_event(stored: StoredEvent) -> Event:
    try:
        raw = json.loads(stored.payload)
        event = Event(
            seq=int(raw["seq"]), prev=raw["prev"], time=str(raw["time"]), actor=str(raw["actor"]),
            action=str(raw["action"]), reason=raw.get("reason"), data=dict(raw["data"]), id=stored.id,
        )
    except (ValueError, KeyError, TypeError):
        raise IntegrityFailure(
            f"event log record {stored.id} is not a bundlectl event", "run `bundlectl verify` to locate the damage"
        ) from None
    if event.payload() != stored.payload:
        raise IntegrityFailure(
            f"event log record {stored.id} is not in canonical form (edited by hand?)",
            "run `bundlectl verify`",
        )
    return event


def summary_line(event: Event) -> str:
    """The first line of the git commit for an event, for people reading `git log refs/bundlectl/log`."""
    data = event.data
    target = f" {data['name']}@{data.get('version', '')}".rstrip("@") if "name" in data else ""
    return f"{event.action}{target} by {event.actor}"
