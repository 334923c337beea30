"""The release report as typed data: what every renderer (HTML, Markdown, JSON) shows, and nothing computed twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlectl.diff.bundles import BundleDiff
    from bundlectl.evidence.listing import JudgedEvidence
    from bundlectl.gate.result import GateResult
    from bundlectl.report.cases import CaseComparison


@dataclass(frozen=True)
class Signature:
    """Who signed a record the gate read, by the principals the trust in force names for the keys."""

    record: str  # "eval report (seq 12)", "approval by …"
    principals: list[str]
    unknown_keys: int  # signing keys the trust in force does not name


@dataclass(frozen=True)
class RoleThreshold:
    role: str
    threshold: int
    principals: list[str]


@dataclass(frozen=True)
class Verdict:
    gate: GateResult
    trust_set: bool
    roles: list[RoleThreshold]
    signatures: list[Signature]

    @property
    def passed(self) -> bool:
        return self.gate.passed

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": [c.to_json() for c in self.gate.failures()],
            "trust_set": self.trust_set,
            "roles": [vars(r) for r in self.roles],
            "signatures": [vars(s) for s in self.signatures],
        }


@dataclass(frozen=True)
class Measured:
    """p50/p95 latency and cost per task of one bundle, from its newest report giving each."""

    version: str
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_per_task_usd: float | None
    origin: str


@dataclass(frozen=True)
class Operations:
    candidate: Measured
    live: Measured | None
    daily_tasks: int | None  # from the environment's cost gate; None: the policy does not say
    multiplier: float = 10.0

    def daily_cost(self, measured: Measured, scale: float = 1.0) -> float | None:
        if measured.cost_per_task_usd is None or self.daily_tasks is None:
            return None
        return round(measured.cost_per_task_usd * self.daily_tasks * scale, 2)

    def to_json(self) -> dict[str, Any]:
        def side(m: Measured | None) -> dict[str, Any] | None:
            return None if m is None else {**vars(m), "daily_usd": self.daily_cost(m), "daily_usd_at_volume": self.daily_cost(m, self.multiplier)}

        return {"candidate": side(self.candidate), "live": side(self.live), "daily_tasks": self.daily_tasks, "volume_multiplier": self.multiplier}


@dataclass(frozen=True)
class RollbackReadiness:
    target_version: str | None  # the bundle a rollback would go to once the candidate is live
    target_digest: str | None
    rehearsed_at: str | None  # the candidate's newest rehearsal
    rehearsal_age: str | None
    note: str


@dataclass(frozen=True)
class GuardPoint:
    """One guard judgement of the canary: at a logged decision, or the one made for this report."""

    label: str
    time: str
    percent: int
    decision: str
    reason: str
    metrics: list[dict[str, Any]]  # the guard's own figures: name, live, candidate, interval, verdict, better
    logged: bool  # False: judged now for this report, not recorded in the log


@dataclass(frozen=True)
class CanaryView:
    version: str
    digest: str
    running: bool
    percent: int
    steps: list[int]
    events: list[dict[str, Any]]  # each start, step and end, oldest first (the `history --json` shape)
    points: list[GuardPoint]

    @property
    def metric_names(self) -> list[str]:
        return sorted({m["name"] for p in self.points for m in p.metrics})

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "digest": self.digest,
            "running": self.running,
            "percent": self.percent,
            "steps": self.steps,
            "events": self.events,
            "judgements": [vars(p) for p in self.points],
        }


@dataclass(frozen=True)
class TimelineEntry:
    env: str
    seq: int
    time: str
    action: str
    from_version: str | None
    to_version: str | None
    percent: int | None
    actor: str
    signed: bool
    reason: str | None


@dataclass(frozen=True)
class ReleaseReport:
    name: str
    version: str
    digest: str
    env: str
    as_of: str  # the time of the newest log record: every age is relative to it, so the report is reproducible
    head: str | None  # the log head the report was read at
    live_version: str | None
    live_digest: str | None
    verdict: Verdict
    changes: BundleDiff | None
    evidence: list[JudgedEvidence]
    cases: CaseComparison | None
    cases_note: str
    operations: Operations
    rollback: RollbackReadiness
    canary: CanaryView | None
    timeline: list[TimelineEntry] = field(default_factory=list)
    signers: dict[int, list[str]] = field(default_factory=dict)  # evidence seq → who signed it (trust's principals)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "env": self.env,
            "as_of": self.as_of,
            "log_head": self.head,
            "live": {"version": self.live_version, "digest": self.live_digest} if self.live_version else None,
            "verdict": self.verdict.to_json(),
            "gate": self.verdict.gate.to_json(),
            "changes": self.changes.to_json() if self.changes else None,
            "evidence": [{**e.to_json(), "signed_by": self.signers.get(e.row.seq, [])} for e in self.evidence],
            "cases": self.cases.to_json() if self.cases else None,
            "cases_note": self.cases_note,
            "operations": self.operations.to_json(),
            "rollback": vars(self.rollback),
            "canary": self.canary.to_json() if self.canary else None,
            "timeline": [vars(t) for t in self.timeline],
        }
