"""Event records of the log: the envelope every record shares, what each action's payload holds, and the chain.

Every payload names the sha256 of the previous payload (`prev`) and its own sequence number, so the
chain can be checked without trusting the backend (git's commit chain is a second, independent one).
Payloads are TypedDicts rather than models: they stay plain dicts, so the canonical bytes never change
and the read path needs no pydantic; the envelope is a NamedTuple, cheap to define at import.

Once trust is set, a record is stored as its payload, a newline, then the armored SSH signatures of
the payload (docs/design.md: Signed records). The signatures are beside the payload, not in it: the payload is what is
signed and what the next record's `prev` hashes, so neither depends on where signatures are kept.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple, Required, TypedDict, cast

from bundlectl.digest.canonical import canonical_json, sha256_of
from bundlectl.errors import MalformedRecord
from bundlectl.registry.payloads import require_well_formed
from bundlectl.storage.base import StoredEvent

Action = Literal[
    "init",
    "registry",
    "policy",
    "trust",
    "register",
    "evidence",
    "approval",
    "promote",
    "rollback",
    "pause",
    "resume",
    "canary",
    "canary-advance",
    "canary-rollback",
    "webhooks",
    "drift",
    "review",
]
MOVE_ACTIONS: tuple[Action, ...] = ("promote", "rollback")  # the actions that move an environment pointer
PAUSE_ACTIONS: tuple[Action, ...] = ("pause", "resume")  # the kill switch: they set an environment's pause pointer
# a canary: started (by promote --canary), advanced a step (by the guard), or ended without going live; it is
# completed by the promote of its candidate, which names it (`canary_completed`)
CANARY_ACTIONS: tuple[Action, ...] = ("canary", "canary-advance", "canary-rollback")
# issue 29: a drift run of the live bundle (`drift --apply`) and the owner's review of the outcome metric
WATCH_ACTIONS: tuple[Action, ...] = ("drift", "review")


class InitData(TypedDict, total=False):
    format: Required[int]
    registry: str  # the registry's id (integrity/registry_id.py); absent in logs made before ids


class CopyOf(TypedDict):
    registry: str | None
    seq: int
    hash: str


class RegistryData(TypedDict, total=False):
    """A change of the registry's identity: a sandbox copy's own id, a legacy log's first id, or its retirement."""

    registry: Required[str]
    copy_of: CopyOf | None
    retired_to: str | None


class PolicyData(TypedDict):
    policy: dict[str, Any]
    policy_digest: str


class TrustData(TypedDict):
    trust: dict[str, Any]  # the trust file in normal form (trust/model.py)
    trust_digest: str


class WebhooksData(TypedDict):
    webhooks: dict[str, Any]  # the subscriptions file in normal form (webhooks/model.py): names of secrets, never secrets
    webhooks_digest: str
    since: dict[str, int]  # per endpoint: the seq of the record that subscribed it; it gets the events after it


class RegisterData(TypedDict):
    name: str
    version: str
    digest: str
    record_digest: str
    record: dict[str, Any]


class Provenance(TypedDict, total=False):
    """Where an eval report came from: `run` (bundlectl ran the harness and measured it) or `attached`."""

    mode: str
    run_id: str  # the tool's id of the run (promptfoo's evalId)
    tool: str
    tool_version: str
    command: list[str]  # run only, from here on: what bundlectl ran, and what it measured
    exit_status: int
    started_at: str
    ended_at: str
    host: str
    executable: str  # the file the command's first word resolved to, and its sha256
    executable_sha256: str
    harness: bool  # whether the command was exactly the harness the bundle declares (components.evals.harness)
    report_time: str  # the run time the report itself states


class EvidenceExtras(TypedDict, total=False):
    """Fields of evidence records written since reports prove themselves (docs/design.md: Evidence); older ones lack them."""

    provenance: Provenance
    cases: str  # eval reports: matched to the promptfoo suite ("suite"), to the case list ("cases"), or "undeclared"
    # written by a writer that refuses a report showing none of the prompts of one of the bundle's prompt files
    # (always True); from the first such record on, readers judge every later record by that rule too
    prompt_rule: bool


class EvidenceData(EvidenceExtras):
    name: str
    version: str
    digest: str
    evals_digest: str | None
    kind: str
    source: str
    run_at: str
    figures: dict[str, Any]
    report_key: str
    file: str


class ApprovalData(TypedDict):
    name: str
    version: str
    digest: str
    env: str


class GateRecord(TypedDict):
    passed: bool
    checks: list[str]
    evidence: list[int]  # seqs of the evidence records the checks used


class Parent(TypedDict):
    version: str
    digest: str


class MoveExtras(TypedDict, total=False):
    """The fields of a move that promote and rollback decide for themselves."""

    verified: bool  # absent in the oldest records: they were all gated
    gate: GateRecord
    components: list[str]
    parents: list[Parent]
    record: dict[str, Any]
    record_digest: str
    break_glass: bool
    rehearsal: str
    canary_completed: int  # the seq of the canary step this promotion completes (it also ends the canary)
    guard: dict[str, Any]  # the guard's figures, when `bundlectl guard --apply` made this move
    authority: dict[str, Any]  # {"owner", "reviews"}: a rollback by the owner on the authority of their reviews (issue 29)


class MoveData(MoveExtras):
    """A promotion or rollback; a component rollback also registers the bundle it builds (`record`)."""

    name: str
    env: str
    from_digest: str | None
    from_version: str | None
    to_digest: str
    to_version: str
    pointer_version: int


class PauseExtras(TypedDict, total=False):
    authority: dict[str, Any]  # {"owner", "reviews": [seq, seq]}: the owner's authority after out-of-tolerance reviews


class PauseData(PauseExtras):
    """A pause or resume of one environment; it names what was live then, and moves no pointer of it."""

    name: str
    env: str
    digest: str
    version: str
    pointer_version: int


class CanaryExtras(TypedDict, total=False):
    gate: GateRecord  # the start: the candidate passed the gate like any promotion
    guard: dict[str, Any]  # an advance or rollback the guard made: its figures are the evidence


class CanaryData(CanaryExtras):
    """A canary of one environment: the candidate beside what is live, and the share of requests it gets (0: ended)."""

    name: str
    env: str
    digest: str
    version: str
    percent: int
    live_digest: str
    live_version: str
    pointer_version: int  # the live pointer's version: a canary moves no environment pointer
    steps: list[int]  # the shares it moves through, the last one 100 (completion)
    step_time: int  # seconds each step must last before the guard moves it on


class DriftData(TypedDict):
    """A drift run of the live bundle (issue 29): its figures follow from the two eval runs it names."""

    name: str
    env: str
    digest: str
    version: str
    baseline: int  # the evidence seq of the run that admitted the bundle
    run: int  # the evidence seq of this run
    alpha: float
    decision: str  # stable | drift
    figures: dict[str, Any]
    action: str  # none | notify | pause | rollback: what the policy had done on drift


class ReviewData(TypedDict):
    """The owner's review of the live bundle's outcome metric: `in_tolerance` follows from `value` and the bundle."""

    name: str
    env: str
    digest: str
    version: str
    owner: str
    metric: str
    value: float
    in_tolerance: bool


EventData = (
    InitData
    | RegistryData
    | PolicyData
    | TrustData
    | WebhooksData
    | RegisterData
    | EvidenceData
    | ApprovalData
    | MoveData
    | PauseData
    | CanaryData
    | DriftData
    | ReviewData
)


class Event(NamedTuple):
    """One log record: the envelope every action shares, and its payload in `data`."""

    seq: int
    prev: str | None
    time: str
    actor: str
    action: str
    reason: str | None
    data: dict[str, Any]
    id: str | None = None  # the backend's id, once stored
    stored: bytes | None = None  # the exact payload bytes, once known: they are never serialised again
    run_url: str | None = None  # the CI run that acted (GitHub Actions, GitLab CI), when there was one
    signatures: bytes = b""  # the armored SSH signatures stored beside the payload; read only by those who check them
    registry: str | None = None  # the registry the record belongs to; signed with it (absent in legacy records)

    @classmethod
    def new(
        cls,
        seq: int,
        prev: str | None,
        time: str,
        actor: str,
        action: str,
        reason: str | None,
        data: dict[str, Any],
        run_url: str | None = None,
        registry: str | None = None,
    ) -> Event:
        """A record about to be appended, its canonical payload computed once, here."""
        event = cls(seq, prev, time, actor, action, reason, data, run_url=run_url, registry=registry)
        return event._replace(stored=event._canonical())

    def _canonical(self) -> bytes:
        envelope = {
            "seq": self.seq,
            "prev": self.prev,
            "time": self.time,
            "actor": self.actor,
            "action": self.action,
            "reason": self.reason,
            "data": self.data,
        }
        if self.run_url is not None:  # absent rather than null, so records written before it keep their bytes
            envelope["run_url"] = self.run_url
        if self.registry is not None:
            envelope["registry"] = self.registry
        return canonical_json(envelope)

    def payload(self) -> bytes:
        """The signed, hashed bytes: the record without its signatures."""
        return self.stored if self.stored is not None else self._canonical()

    def record(self) -> bytes:
        """What the backend stores: the payload, then its signatures on the following lines."""
        return self.payload() + b"\n" + self.signatures if self.signatures else self.payload()

    @property
    def hash(self) -> str:
        return sha256_of(self.payload())

    @property
    def is_move(self) -> bool:
        return self.action in MOVE_ACTIONS

    def move(self) -> MoveData:
        assert self.is_move, self.action
        return cast(MoveData, self.data)

    @property
    def is_pause(self) -> bool:
        return self.action in PAUSE_ACTIONS

    def pause(self) -> PauseData:
        assert self.is_pause, self.action
        return cast(PauseData, self.data)

    @property
    def is_canary(self) -> bool:
        return self.action in CANARY_ACTIONS

    def canary(self) -> CanaryData:
        assert self.is_canary, self.action
        return cast(CanaryData, self.data)

    def evidence(self) -> EvidenceData:
        assert self.action == "evidence", self.action
        return cast(EvidenceData, self.data)

    def approval(self) -> ApprovalData:
        assert self.action == "approval", self.action
        return cast(ApprovalData, self.data)

    def policy(self) -> PolicyData:
        assert self.action == "policy", self.action
        return cast(PolicyData, self.data)

    def trust(self) -> TrustData:
        assert self.action == "trust", self.action
        return cast(TrustData, self.data)

    def webhooks(self) -> WebhooksData:
        assert self.action == "webhooks", self.action
        return cast(WebhooksData, self.data)

    def registered_record(self) -> dict[str, Any] | None:
        """The bundle record this event registers: a register, or a component rollback building one."""
        record = self.data.get("record") if self.action == "register" or self.is_move else None
        return cast("dict[str, Any] | None", record)


SIGNATURES_MARK = b"\n-----BEGIN SSH SIGNATURE-----"


def parse_event(stored: StoredEvent) -> Event:
    """The record as stored, whose payload must be canonical JSON: its hash is then the hash of these bytes.

    Signatures after the payload are kept as they are, unread: checking them is `verify`'s and the writers' job.
    """
    payload, mark, signatures = stored.payload.partition(SIGNATURES_MARK)  # canonical JSON never holds a raw newline
    signatures = mark[1:] + signatures
    try:
        raw = json.loads(payload.decode())  # a str parses faster than bytes, whose encoding json would detect
        if isinstance(raw, dict):
            require_well_formed(raw, str(stored.id))
        event = Event(
            int(raw["seq"]),
            raw["prev"],
            str(raw["time"]),
            str(raw["actor"]),
            str(raw["action"]),
            raw.get("reason"),
            dict(raw["data"]),
            stored.id,
            payload,
            raw.get("run_url"),
            signatures,
            raw.get("registry"),
        )
    except (ValueError, KeyError, TypeError):
        raise MalformedRecord(f"event log record {stored.id} is not a bundlectl event", "run `bundlectl verify` to locate the damage") from None
    if event._canonical() != payload:
        raise MalformedRecord(
            f"event log record {stored.id} is not in canonical form (edited by hand?)",
            "run `bundlectl verify`",
        )
    return event


def summary_line(event: Event) -> str:
    """The first line of the git commit for an event, for people reading `git log refs/bundlectl/log`."""
    data = event.data
    target = f" {data['name']}@{data.get('version', '')}".rstrip("@") if "name" in data else ""
    return f"{event.action}{target} by {event.actor}"
