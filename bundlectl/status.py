"""`status` and `history`: what is live where, how fresh its evidence is, and how it got there."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bundlectl.freshness import is_fresh
from bundlectl.gate.checks import eval_checks
from bundlectl.registry.index import Index


@dataclass(frozen=True)
class LiveStatus:
    name: str
    env: str
    version: str
    digest: str
    pointer_version: int
    since: str
    by: str
    verified: bool
    evidence_fresh: bool
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.verified and self.evidence_fresh

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "env": self.env, "version": self.version, "digest": self.digest,
                "pointer_version": self.pointer_version, "since": self.since, "by": self.by,
                "evidence_fresh": self.evidence_fresh, "verified": self.verified, "problems": self.problems}


def live_status(index: Index, now: datetime, name: str | None = None) -> list[LiveStatus]:
    """Each live pointer, judged by its environment's eval gate as it stands now."""
    policy, _ = index.policy()
    environments = (policy or {}).get("environments", {})
    rows = []
    for pointer in index.pointers(name):
        gate = ((environments.get(pointer.env) or {}).get("gates") or {}).get("eval")
        evals = index.evidence_for(pointer.digest, "eval")
        evidence_problems = []
        if gate:
            checks = eval_checks(gate, evals, now, [])
            evidence_problems = [f"{c.name}: {c.detail}" for c in checks if not c.passed]
        # a break-glass bundle is verified once fresh, passing eval evidence for its exact digest exists
        verified = pointer.verified or (bool(evals) and not evidence_problems and
                                        is_fresh(evals[0].run_at, (gate or {}).get("max_age", "7d"), now))
        unverified = [] if verified else ["unverified: went live by break-glass; add fresh eval evidence for this digest"]
        rows.append(LiveStatus(pointer.name, pointer.env, pointer.version, pointer.digest, pointer.pointer_version,
                               pointer.time, pointer.actor, verified, not evidence_problems,
                               unverified + evidence_problems))
    return rows


def pointer_history(index: Index, name: str, env: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Promotions and rollbacks of one environment, newest first."""
    events = []
    for seq, action, time, actor, reason, payload in index.moves(name, env, limit):
        data = json.loads(payload)["data"]
        events.append({"seq": seq, "action": action, "env": env, "from_digest": data.get("from_digest"),
                       "to_digest": data["to_digest"], "from_version": data.get("from_version"),
                       "to_version": data["to_version"], "pointer_version": data["pointer_version"],
                       "verified": data.get("verified", True), "actor": actor, "reason": reason, "time": time,
                       **{k: data[k] for k in ("parents", "components", "break_glass", "rehearsal") if k in data}})
    return events
