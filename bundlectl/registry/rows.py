"""Typed rows of the read index, each built from its SQL columns by name (never by position).

NamedTuples rather than dataclasses: read commands import this module, and a NamedTuple costs a
seventh of a frozen dataclass to create at import time.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from bundlectl.registry.events import CanaryData, MoveData, Parent, PauseData

if TYPE_CHECKING:
    from bundlectl.bundle.record import BundleRecord

Row = TypeVar("Row")


def column_names(cls: type[Any]) -> list[str]:
    return list(cls._fields)


def select(cls: type[Any], table: str) -> str:
    """`SELECT <the row's fields> FROM table`: the one place a row's columns are listed."""
    return f"SELECT {', '.join(column_names(cls))} FROM {table}"


def build(cls: type[Row], cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    values = {d[0]: v for d, v in zip(cursor.description, row, strict=True)}
    if "verified" in values:
        values["verified"] = bool(values["verified"])
    return cls(**values)


def proven(seq: int, trust_since: int | None) -> bool:
    """Whether the actor of the record at `seq` is a signer's principal (from the first `trust set` on), not a claim."""
    return trust_since is not None and seq >= trust_since


def signer_set(signers: str | None) -> frozenset[str]:
    return frozenset(signers.split()) if signers else frozenset()


class IndexHead(NamedTuple):
    id: str | None
    seq: int
    hash: str | None


class BundleRow(NamedTuple):
    name: str
    version: str
    digest: str
    time: str
    actor: str
    seq: int
    record_digest: str
    record_json: str
    signed: bool = False  # set by readers that show who registered it: `proven(seq, trust_since)`

    def record(self) -> BundleRecord:
        from bundlectl.bundle.record import BundleRecord  # not on the path of status and history

        return BundleRecord.from_json(json.loads(self.record_json))


class EvidenceRow(NamedTuple):
    seq: int
    name: str
    version: str
    digest: str
    evals_digest: str | None
    kind: str
    source: str
    run_at: str
    report_key: str
    actor: str
    time: str
    figures_json: str
    binding_json: str | None = None  # {"provenance", "cases"} of records written since docs/design.md: Evidence; None before
    signers: str | None = None  # fingerprints of the keys that signed it (space-separated); None when unsigned

    @property
    def signed_by(self) -> frozenset[str]:
        return signer_set(self.signers)

    @property
    def figures(self) -> dict[str, Any]:
        figures: dict[str, Any] = json.loads(self.figures_json)
        return figures

    @property
    def binding(self) -> dict[str, Any]:
        binding: dict[str, Any] = json.loads(self.binding_json) if self.binding_json else {}
        return binding

    @property
    def provenance(self) -> str:
        """`run` (bundlectl ran it) or `attached` (given to `evidence add`, or recorded before provenance was)."""
        return str(self.binding.get("provenance", {}).get("mode", "attached"))


class ApprovalRow(NamedTuple):
    seq: int
    name: str
    digest: str
    env: str
    actor: str
    time: str
    signers: str | None = None  # as EvidenceRow.signers

    @property
    def signed_by(self) -> frozenset[str]:
        return signer_set(self.signers)


class PointerRow(NamedTuple):
    """What is live in one environment now, as the log says."""

    name: str
    env: str
    digest: str
    version: str
    pointer_version: int
    seq: int
    time: str
    actor: str
    verified: bool  # SQLite hands back 0 or 1; `build` makes it a bool


class MoveRow(NamedTuple):
    """One promotion or rollback of an environment, read from its log record."""

    seq: int
    action: str
    time: str
    actor: str
    reason: str | None
    data: MoveData
    signed: bool = False  # set by readers that show the actor: `proven(seq, trust_since)`

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def env(self) -> str:
        return self.data["env"]

    @property
    def from_digest(self) -> str | None:
        return self.data["from_digest"]

    @property
    def from_version(self) -> str | None:
        return self.data["from_version"]

    @property
    def to_digest(self) -> str:
        return self.data["to_digest"]

    @property
    def to_version(self) -> str:
        return self.data["to_version"]

    @property
    def pointer_version(self) -> int:
        return self.data["pointer_version"]

    @property
    def verified(self) -> bool:
        return self.data.get("verified", True)

    @property
    def gate_evidence(self) -> list[int]:
        """Seqs of the evidence records the move's gate used (none for a whole rollback)."""
        gate = self.data.get("gate")
        return list(gate["evidence"]) if gate else []

    @property
    def components(self) -> list[str]:
        return list(self.data.get("components", []))

    @property
    def rehearsal(self) -> str | None:
        return self.data.get("rehearsal")

    @property
    def break_glass(self) -> bool:
        return self.data.get("break_glass", False)

    @property
    def parents(self) -> list[Parent]:
        return list(self.data.get("parents", []))

    def to_json(self) -> dict[str, Any]:
        """The stable `history --json` shape."""
        document: dict[str, Any] = {
            "seq": self.seq,
            "action": self.action,
            "env": self.env,
            "from_digest": self.from_digest,
            "to_digest": self.to_digest,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "pointer_version": self.pointer_version,
            "verified": self.verified,
            "actor": self.actor,
            "signed": self.signed,
            "reason": self.reason,
            "time": self.time,
        }
        for key in ("parents", "components", "break_glass", "rehearsal", "canary_completed", "guard"):
            if key in self.data:
                document[key] = self.data[key]
        return document


class PauseRow(NamedTuple):
    """One pause or resume of an environment, read from its log record; the newest one is the state in force."""

    seq: int
    action: str
    time: str
    actor: str
    reason: str | None
    data: PauseData
    signed: bool = False  # set by readers that show the actor: `proven(seq, trust_since)`

    @property
    def paused(self) -> bool:
        return self.action == "pause"

    def to_json(self) -> dict[str, Any]:
        """The `history --json` shape: nothing moves, so from and to are both what was live."""
        data = self.data
        return {
            "seq": self.seq,
            "action": self.action,
            "env": data["env"],
            "from_digest": data["digest"],
            "to_digest": data["digest"],
            "from_version": data["version"],
            "to_version": data["version"],
            "pointer_version": data["pointer_version"],
            "actor": self.actor,
            "signed": self.signed,
            "reason": self.reason,
            "time": self.time,
        }

    def summary(self) -> dict[str, Any]:
        """How `status` and `audit` show a pause in force."""
        return {"since": self.time, "by": self.actor, "by_signed": self.signed, "reason": self.reason, "seq": self.seq}


class CanaryRow(NamedTuple):
    """One canary event (start, step or end) of an environment, read from its log record."""

    seq: int
    action: str
    time: str
    actor: str
    reason: str | None
    data: CanaryData
    signed: bool = False  # set by readers that show the actor: `proven(seq, trust_since)`

    @property
    def percent(self) -> int:
        return self.data["percent"]

    @property
    def digest(self) -> str:
        return self.data["digest"]

    @property
    def version(self) -> str:
        return self.data["version"]

    @property
    def steps(self) -> list[int]:
        return list(self.data["steps"])

    @property
    def next_percent(self) -> int | None:
        """The step after this one; None when the next one is 100 (completion)."""
        later = [s for s in self.steps if s > self.percent]
        return later[0] if later and later[0] < 100 else None

    def to_json(self) -> dict[str, Any]:
        """The `history --json` shape: from what is live to the candidate, with the share it got."""
        data = self.data
        document = {
            "seq": self.seq,
            "action": self.action,
            "env": data["env"],
            "from_digest": data["live_digest"],
            "to_digest": data["digest"],
            "from_version": data["live_version"],
            "to_version": data["version"],
            "pointer_version": data["pointer_version"],
            "percent": data["percent"],
            "actor": self.actor,
            "signed": self.signed,
            "reason": self.reason,
            "time": self.time,
        }
        if "guard" in data:
            document["guard"] = data["guard"]
        return document

    def summary(self) -> dict[str, Any]:
        """How `status` and `audit` show the canary in force: the candidate and its share."""
        data = self.data
        return {
            "version": data["version"],
            "digest": data["digest"],
            "percent": data["percent"],
            "steps": data["steps"],
            "step_time_s": data["step_time"],
            "since": self.time,
            "by": self.actor,
            "by_signed": self.signed,
            "seq": self.seq,
        }


class WatchRow(NamedTuple):
    """A drift run or an owner's review of one environment (issue 29), read from its log record."""

    seq: int
    action: str  # "drift" or "review"
    time: str
    actor: str
    reason: str | None
    data: dict[str, Any]
    signed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "action": self.action,
            "env": self.data["env"],
            "digest": self.data["digest"],
            "version": self.data["version"],
            "actor": self.actor,
            "signed": self.signed,
            "reason": self.reason,
            "time": self.time,
            **{k: v for k, v in self.data.items() if k not in ("name", "env", "digest", "version", "action")},
            **({"action_taken": self.data["action"]} if "action" in self.data else {}),
        }


Logged = TypeVar("Logged", MoveRow, PauseRow, CanaryRow, WatchRow)


def logged_row(cls: type[Logged], seq: int, action: str, time: str, actor: str, payload: str) -> Logged:
    """A move or pause row from the events table: its envelope columns and the stored payload."""
    event = json.loads(payload)
    return cls(seq, action, time, actor, event.get("reason"), event["data"])
