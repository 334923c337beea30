"""`status` and `history`: what is live where, whether it is paused, how fresh its evidence is, and how it got there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from bundlectl.drift.schedule import watch_status
from bundlectl.gate.checks import eval_checks, eval_standing
from bundlectl.policy.freshness import is_fresh
from bundlectl.policy.in_force import DEFAULT_MAX_AGE, EvalGate, policy_in_force
from bundlectl.registry.index import Index
from bundlectl.registry.read import index_at_head
from bundlectl.registry.rows import CanaryRow, EvidenceRow, MoveRow, PauseRow, WatchRow, proven
from bundlectl.registry.signatures import with_signatures_checked
from bundlectl.storage.base import Storage
from bundlectl.trust.roles import Trust


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
    signed: bool = False  # `by` is the principal of a key that signed the move, not a claim
    canary: CanaryRow | None = None  # the canary running beside it: its candidate and share
    watched: bool = True  # issue 29: no drift run missed or found drift, no review overdue (else in `problems`)
    owner_authority: list[int] | None = None  # the reviews that give the owner the authority to pause or roll back

    @property
    def healthy(self) -> bool:
        return self.verified and self.evidence_fresh and self.watched

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "env": self.env,
            "version": self.version,
            "digest": self.digest,
            "pointer_version": self.pointer_version,
            "since": self.since,
            "by": self.by,
            "by_signed": self.signed,
            "evidence_fresh": self.evidence_fresh,
            "verified": self.verified,
            "problems": self.problems,
            "paused": self.paused.summary() if self.paused else None,
            "canary": self.canary.summary() if self.canary else None,
            "owner_authority": {"reviews": self.owner_authority} if self.owner_authority else None,
        }


class StatusReport(NamedTuple):
    environments: list[LiveStatus]
    trust_since: int | None  # None: no trust set, every identity in the log is a claim

    def to_json(self) -> dict[str, Any]:
        """The `status --json` document."""
        return {"environments": [r.to_json() for r in self.environments], "trust": {"set": self.trust_since is not None, "since": self.trust_since}}


def live_status(index: Index, now: datetime, name: str | None = None) -> list[LiveStatus]:
    """Each live pointer, judged by its environment's eval gate as it stands now."""
    from bundlectl.workflows.canary import canary_in_force

    policy = policy_in_force(index)
    trust = None
    if policy and any(e.gates.eval and e.gates.eval.signed_by for e in policy.environments.values()):
        from bundlectl.registry.signatures import trust_in_force

        trust = trust_in_force(index)
    trust_since = index.trust_since()
    rows = []
    for pointer in index.pointers(name):
        environment = policy.environments.get(pointer.env) if policy else None
        gate = environment.gates.eval if environment else None
        evals = index.evidence_for(pointer.digest, "eval")
        evidence_problems = []
        if gate:
            checks = eval_checks(gate, evals, now, [], trust)
            evidence_problems = [f"{c.name}: {c.detail}" for c in checks if not c.passed]
        verified = pointer.verified or _earned_since(evals, gate, trust, evidence_problems, now)
        unverified = [] if verified else ["unverified: went live by break-glass; add fresh eval evidence for this digest"]
        pause = index.pause(pointer.name, pointer.env)
        watch = watch_status(index, environment, pointer, now)
        rows.append(
            LiveStatus(
                pointer.name,
                pointer.env,
                pointer.version,
                pointer.digest,
                pointer.pointer_version,
                pointer.time,
                pointer.actor,
                verified,
                not evidence_problems,
                unverified + evidence_problems + watch.problems,
                pause._replace(signed=proven(pause.seq, trust_since)) if pause and pause.paused else None,
                proven(pointer.seq, trust_since),
                _signed(canary_in_force(index, pointer.name, pointer.env), trust_since),
                not watch.problems,
                watch.owner_authority,
            )
        )
    return rows


def _signed(canary: CanaryRow | None, trust_since: int | None) -> CanaryRow | None:
    return canary._replace(signed=proven(canary.seq, trust_since)) if canary else None


def pointer_history(index: Index, name: str, env: str, limit: int | None = None) -> list[MoveRow | PauseRow | CanaryRow | WatchRow]:
    """Promotions, rollbacks, pauses, resumes, canaries, drift runs and reviews of one environment, newest first."""
    trust_since = index.trust_since()
    events: list[MoveRow | PauseRow | CanaryRow | WatchRow] = [
        *(m._replace(signed=proven(m.seq, trust_since)) for m in index.moves(name, env, limit)),
        *(p._replace(signed=proven(p.seq, trust_since)) for p in index.pauses(name, env, limit)),
        *(c._replace(signed=proven(c.seq, trust_since)) for c in index.canaries(name, env, limit)),
        *(w._replace(signed=proven(w.seq, trust_since)) for action in ("drift", "review") for w in index.watches(name, env, action, limit)),
    ]
    events.sort(key=lambda e: e.seq, reverse=True)
    return events[:limit] if limit else events


class History(NamedTuple):
    """`history NAME --env ENV`: its promotions, rollbacks, pauses, resumes, canaries, drift runs and reviews, newest first."""

    name: str
    env: str
    events: list[MoveRow | PauseRow | CanaryRow | WatchRow]

    def to_json(self) -> dict[str, Any]:
        """The `history --json` document."""
        return {"name": self.name, "env": self.env, "events": [e.to_json() for e in self.events]}


def history(index: Index, name: str, env: str, limit: int | None = None) -> History:
    """The history of NAME in ENV; an environment never heard of is NotFound (a mistyped --env is not "never live")."""
    events = pointer_history(index, name, env, limit)
    if not events:
        known_environment(index, env)
    return History(name, env, events)


def _earned_since(evals: list[EvidenceRow], gate: EvalGate | None, trust: Trust | None, problems: list[str], now: datetime) -> bool:
    """Whether a bundle that went live by break-glass has since earned it: fresh, passing eval evidence for its exact
    digest. With no eval gate, only a report that could count for one (a run that never showed a prompt file proves
    nothing)."""
    counting = [e for e in evals if eval_standing(e, gate, trust).counts]
    return bool(counting) and not problems and is_fresh(counting[0].run_at, gate.max_age if gate else DEFAULT_MAX_AGE, now)


def status_report(storage: Storage, now: datetime, name: str | None = None, *, check_signatures: bool = False) -> StatusReport:
    """`status` as of `now`; `check_signatures` (`status --check`, the check CI runs): no live bundle may rest on a
    record no allowed key signed."""
    index = index_at_head(storage)
    if check_signatures:
        index = with_signatures_checked(storage, index)
    return StatusReport(live_status(index, now, name), index.trust_since())


def known_environment(index: Index, env: str) -> None:
    """Refuse (not found) an environment that neither the policy names nor anything was ever live in."""
    from bundlectl.errors import NotFound
    from bundlectl.foundation.names import closest

    known = index.environments()
    if env not in known:
        guess = closest(env, known)
        raise NotFound(
            f"there is no environment {env!r}" + (f"; did you mean {guess!r}?" if guess else ""),
            f"environments: {', '.join(known) or 'none yet (`bundlectl policy show`)'}",
        )
