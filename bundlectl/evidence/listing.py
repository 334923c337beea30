"""`evidence list`: each report bound to a bundle, judged fresh or stale by the gate that reads its kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bundlectl.foundation.durations import format_duration
from bundlectl.gate.checks import standing as judge
from bundlectl.policy.freshness import is_fresh, run_age
from bundlectl.policy.in_force import policy_in_force
from bundlectl.registry.index import Index
from bundlectl.registry.rows import BundleRow, EvidenceRow
from bundlectl.registry.signatures import trust_in_force


@dataclass(frozen=True)
class JudgedEvidence:
    row: EvidenceRow
    max_age: str | None  # None: no gate in the policy reads this kind, so it is neither fresh nor stale
    fresh: bool | None
    age: str
    counts: bool | None  # whether the gates may read it at all (None: kinds they always may)
    why: str

    def to_json(self) -> dict[str, Any]:
        row = self.row
        return {
            "seq": row.seq,
            "kind": row.kind,
            "source": row.source,
            "run_at": row.run_at,
            "age": self.age,
            "fresh": self.fresh,
            "max_age": self.max_age,
            "added_by": row.actor,
            "added_at": row.time,
            "figures": row.figures,
            "report": row.report_key,
            "provenance": row.provenance,
            "counts": self.counts,
            "why": self.why,
            "run": row.binding.get("provenance", {}),
            "cases": row.binding.get("cases"),
        }


@dataclass(frozen=True)
class EvidenceListing:
    bundle: BundleRow
    eval_max_age: str | None
    evidence: list[JudgedEvidence]

    def to_json(self) -> dict[str, Any]:
        """The `evidence list --json` document."""
        bundle = self.bundle
        return {
            "name": bundle.name,
            "version": bundle.version,
            "digest": bundle.digest,
            "max_age": self.eval_max_age,
            "evidence": [e.to_json() for e in self.evidence],
        }


def list_evidence(index: Index, bundle: BundleRow, env: str | None, now: datetime) -> EvidenceListing:
    """Newest run first; `env` picks whose gates judge freshness (default: the strictest environment's)."""

    policy = policy_in_force(index)
    gate = policy.eval_gate_for(env) if policy else None
    trust = trust_in_force(index)
    judged = []
    for row in index.evidence_for(bundle.digest):
        max_age = policy.max_age_for(row.kind, env) if policy else None
        fresh = is_fresh(row.run_at, max_age, now) if max_age else None
        standing = judge(row, gate, trust)
        counts = None if standing is None else standing.counts and fresh is not False
        why = "" if standing is None else standing.why if not standing.counts or fresh is not False else f"stale: older than {max_age}"
        judged.append(JudgedEvidence(row, max_age, fresh, format_duration(run_age(row.run_at, now)), counts, why))
    return EvidenceListing(bundle, policy.max_age_for("eval", env) if policy else None, judged)
