"""`status` and `history`: what is live where, whether it is paused, how fresh its evidence is, and how it got there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from bundlectl.freshness import is_fresh
from bundlectl.gate.checks import eval_checks
from bundlectl.policy.in_force import DEFAULT_MAX_AGE, policy_in_force
from bundlectl.registry.index import Index
from bundlectl.registry.rows import CanaryRow, MoveRow, PauseRow


class LiveStatus(NamedTuple):
    name: str
    env: str
    version: str
    digest: str
    pointer_version: int
    since: str
    by: str
    verified: bool
    evidence_fresh: bool
    problems: list[str]
    paused: PauseRow | None = None  # the pause in force: serving runtimes refuse this bundle until `resume`
    canary: CanaryRow | None = None  # the canary running beside it: its candidate and share

    @property
    def healthy(self) -> bool:
        return self.verified and self.evidence_fresh

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "env": self.env, "version": self.version, "digest": self.digest,
                "pointer_version": self.pointer_version, "since": self.since, "by": self.by,
                "evidence_fresh": self.evidence_fresh, "verified": self.verified, "problems": self.problems,
                "paused": self.paused.summary() if self.paused else None,
                "canary": self.canary.summary() if self.canary else None}


def live_status(index: Index, now: datetime, name: str | None = None) -> list[LiveStatus]:
    """Each live pointer, judged by its environment's eval gate as it stands now."""
    from bundlectl.canary import canary_in_force

    policy = policy_in_force(index)
    rows = []
    for pointer in index.pointers(name):
        environment = policy.environments.get(pointer.env) if policy else None
        gate = environment.gates.eval if environment else None
        evals = index.evidence_for(pointer.digest, "eval")
        evidence_problems = []
        if gate:
            checks = eval_checks(gate, evals, now, [])
            evidence_problems = [f"{c.name}: {c.detail}" for c in checks if not c.passed]
        # a break-glass bundle is verified once fresh, passing eval evidence for its exact digest exists
        max_age = gate.max_age if gate else DEFAULT_MAX_AGE
        verified = pointer.verified or (bool(evals) and not evidence_problems and is_fresh(evals[0].run_at, max_age, now))
        unverified = [] if verified else ["unverified: went live by break-glass; add fresh eval evidence for this digest"]
        pause = index.pause(pointer.name, pointer.env)
        rows.append(LiveStatus(pointer.name, pointer.env, pointer.version, pointer.digest, pointer.pointer_version,
                               pointer.time, pointer.actor, verified, not evidence_problems,
                               unverified + evidence_problems, pause if pause and pause.paused else None,
                               canary_in_force(index, pointer.name, pointer.env)))
    return rows


def pointer_history(index: Index, name: str, env: str, limit: int | None = None) -> list[MoveRow | PauseRow | CanaryRow]:
    """Promotions, rollbacks, pauses, resumes and canaries of one environment, newest first."""
    events: list[MoveRow | PauseRow | CanaryRow] = [*index.moves(name, env, limit), *index.pauses(name, env, limit),
                                                     *index.canaries(name, env, limit)]
    events.sort(key=lambda e: e.seq, reverse=True)
    return events[:limit] if limit else events
