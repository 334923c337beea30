"""Rollback: the whole bundle, or single components, with constraints, break-glass and rehearsals.

A whole rollback points the environment back at a bundle that was live there before; it was gated
then, so no new gate runs, but stale evidence is reported. A component rollback builds a new bundle,
the live one with some components taken from an earlier one, and registers and promotes it in one
logged event: through the gate when evidence for its exact digest passes it (the environment's
`rollback:` rules may waive `after`, regression, rehearsal and approvals for it, and a rehearsal of the
bundle it replaces counts), otherwise only with --break-glass, marked unverified. Compatibility constraints are never overridden.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from bundlectl.bundle.constraints import require_compatible
from bundlectl.bundle.manifest import KINDS
from bundlectl.bundle.record import BundleRecord
from bundlectl.diff.bundles import BundleDiff, diff_bundles
from bundlectl.drift.authority import owner_authority_claim
from bundlectl.errors import Conflict, NotFound, Refused, UsageProblem
from bundlectl.evidence.add import EvidenceAdded, add_evidence
from bundlectl.foundation.clock import now_utc, rfc3339
from bundlectl.gate.checks import eval_checks
from bundlectl.gate.evaluate import evaluate_gate
from bundlectl.gate.result import GateRefused, GateResult
from bundlectl.policy.in_force import environment_policy
from bundlectl.registry.bundles import RegisterResult, register_built
from bundlectl.registry.events import MoveExtras, Parent
from bundlectl.registry.index import Index
from bundlectl.registry.log import recorded_actor
from bundlectl.registry.read import index_at_head
from bundlectl.registry.refs import registry_reader, registry_source
from bundlectl.registry.rows import BundleRow, PointerRow
from bundlectl.registry.signatures import trust_in_force
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting
from bundlectl.workflows.canary import CanaryResult, canary_in_force, end_running_canary, refuse_during_canary
from bundlectl.workflows.moves import Decision, MoveResult, move_pointer

MAX_VERSION = 64


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback would do: from the live bundle to the target, built or existing."""

    env: str
    pointer_seq: int
    live: BundleRow
    source: BundleRow
    target: BundleRow
    components: list[str]
    new_record: BundleRecord | None  # set when a component rollback builds a bundle not yet registered
    stale: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RollbackResult:
    plan: RollbackPlan
    move: MoveResult | None
    verified: bool
    break_glass: bool
    gate: GateResult | None
    would_refuse: bool = False  # dry runs only: the gate fails and --break-glass was not given

    def to_json(self) -> dict[str, Any]:
        """The `rollback --json` document (a dry run adds its diff: `RollbackReport.to_json`)."""
        plan, move, target = self.plan, self.move, self.plan.target
        assert move is not None  # rollback() always returns its move; a rehearsal's halves too
        return {
            "name": plan.live.name,
            "env": plan.env,
            "dry_run": move.dry_run,
            "changed": move.seq is not None,
            "from": {"version": plan.live.version, "digest": plan.live.digest},
            "to": {"version": target.version, "digest": target.digest, "new": plan.new_record is not None},
            "components": plan.components,
            "components_from": {"version": plan.source.version, "digest": plan.source.digest},
            "verified": self.verified,
            "break_glass": self.break_glass,
            "stale_evidence": plan.stale,
            "pointer_version": move.pointer_version,
            "seq": move.seq,
            "would_be_refused": self.would_refuse,
            "gate": self.gate.to_json() if self.gate else None,
        }


class RollbackReport(NamedTuple):
    result: RollbackResult
    diff: BundleDiff | None  # dry runs only: the live bundle against the one ENV would point at

    def to_json(self) -> dict[str, Any]:
        """The `rollback --json` document: the result, and a dry run's diff."""
        return {**self.result.to_json(), **({"diff": self.diff.to_json()} if self.diff is not None else {})}


class Rehearsal(NamedTuple):
    back: RollbackResult
    forward: RollbackResult
    evidence: EvidenceAdded

    def to_json(self) -> dict[str, Any]:
        """The `rollback --rehearse --json` document."""
        return {
            "rehearsed": True,
            "name": self.forward.plan.live.name,
            "env": self.forward.plan.env,
            "back_to": self.back.plan.target.version,
            "forward_to": self.forward.plan.target.version,
            "evidence_seq": self.evidence.seq,
        }


def plan_rollback(storage: Storage, name: str, env: str, to: BundleRow | None, components: list[str], now: datetime) -> RollbackPlan:

    for kind in components:
        if kind not in KINDS:
            raise UsageProblem(f"unknown component kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    index = index_at_head(storage)
    pointer = index.pointer(name, env)
    if pointer is None:
        raise NotFound(f"nothing of {name} is live in {env}; there is nothing to roll back")
    live = index.served_bundle(name, pointer.version)
    source = _source(index, pointer, to)
    if not components:
        target, new_record = source, None
    else:
        target, new_record = _compose(index, live, source, components)
    require_compatible(target.record(), registry_reader(storage, target.record()), "rollback")
    return RollbackPlan(env, pointer.seq, live, source, target, list(components), new_record, _stale(index, target, env, now))


def _source(index: Index, pointer: PointerRow, to: BundleRow | None) -> BundleRow:
    """The bundle live before the current one, or `to`, which must have been live here before."""
    if to is not None:
        if to.digest == pointer.digest:
            raise Refused(f"{to.name}@{to.version} is what is live in {pointer.env} now; nothing to roll back to")
        if not index.was_live(pointer.name, pointer.env, to.digest):
            raise Refused(
                f"{to.name}@{to.version} has never been live in {pointer.env}; rollback only goes back to bundles that were live there before",
                f"to put a new bundle live, use `bundlectl promote {to.name}@{to.version} --env {pointer.env}`",
            )
        return to
    last = index.moves(pointer.name, pointer.env, limit=1)[0]
    if not last.from_version:
        raise Refused(f"nothing was live in {pointer.env} before {pointer.name}@{pointer.version}; nothing to roll back to")
    return index.served_bundle(pointer.name, last.from_version)


def _compose(index: Index, live: BundleRow, source: BundleRow, kinds: list[str]) -> tuple[BundleRow, BundleRecord | None]:
    """The live bundle with `kinds` taken from `source`: an existing bundle if one has that content."""
    current, earlier = live.record(), source.record()
    same = [k for k in kinds if current.components[k].digest == earlier.components[k].digest]
    if same:
        raise Refused(
            f"{', '.join(same)} {'is' if len(same) == 1 else 'are'} the same in {live.version} and {source.version}; nothing to roll back",
            "pick components that differ (see `bundlectl diff`)",
        )
    components = {k: (earlier.components[k] if k in kinds else current.components[k]) for k in KINDS}
    digest = BundleRecord.build(current.name, current.version, current.metadata, components).digest
    existing = index.bundles_with_digest(current.name, digest)
    if existing:
        return existing[-1], None
    version = _free_version(index, current.name, f"{live.version}+rb.{'.'.join(k for k in KINDS if k in kinds)}")
    lineage = {
        "rollback_of": {"version": live.version, "digest": live.digest},
        "components_from": {"version": source.version, "digest": source.digest},
        "swapped": [k for k in KINDS if k in kinds],
    }
    metadata = {**current.metadata, "version": version}
    record = BundleRecord.build(current.name, version, metadata, components, lineage)
    row = BundleRow(record.name, version, digest, "", "", 0, record.record_digest, json.dumps(record.to_json()))
    return row, record


def _free_version(index: Index, name: str, wanted: str) -> str:
    base = wanted[: MAX_VERSION - 4]
    candidate, n = base, 1
    while index.bundle(name, candidate) is not None:
        n += 1
        candidate = f"{base}.{n}"
    return candidate


def _stale(index: Index, target: BundleRow, env: str, now: datetime) -> list[str]:
    gate = environment_policy(index, env).gates.eval
    if not gate:
        return []
    checks = eval_checks(gate, index.evidence_for(target.digest, "eval"), now, [], trust_in_force(index))
    return [f"{c.name}: {c.detail}" for c in checks if not c.passed]


@dataclass(frozen=True)
class BuiltRollback:
    """A component rollback's bundle, registered without moving anything (`rollback --register-only`)."""

    plan: RollbackPlan
    registered: RegisterResult | None  # None: a registered bundle already has exactly this content

    def to_json(self) -> dict[str, Any]:
        """The `rollback --register-only --json` document."""
        plan, registered, target = self.plan, self.registered, self.plan.target
        return {
            "name": target.name,
            "env": plan.env,
            "version": target.version,
            "digest": target.digest,
            "components": plan.components,
            "components_from": {"version": plan.source.version, "digest": plan.source.digest},
            "created": bool(registered and registered.created),
            "dry_run": bool(registered and registered.dry_run),
            "seq": registered.seq if registered else None,
            "moved": False,
        }


def register_rollback_bundle(
    storage: Storage,
    name: str,
    env: str,
    actor: Acting,
    reason: str | None = None,
    *,
    to: BundleRow | None = None,
    components: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> BuiltRollback:
    """Build the bundle a component rollback of ENV would go live with, and register it, so evidence for
    its exact digest can be added before the rollback goes through the gate (no break-glass needed)."""

    components = list(dict.fromkeys(components or []))
    if not components:
        raise UsageProblem(
            "--register-only builds the bundle of a component rollback; name it with --component KIND",
            "a whole rollback goes back to a bundle that is registered already",
        )
    plan = plan_rollback(storage, name, env, to, components, now or now_utc())
    if plan.new_record is None:
        return BuiltRollback(plan, None)
    return BuiltRollback(
        plan, register_built(storage, plan.new_record, actor, reason or f"built for a rollback of {', '.join(plan.components)} in {env}", dry_run)
    )


def rollback(
    storage: Storage,
    name: str,
    env: str,
    actor: Acting,
    reason: str | None = None,
    *,
    to: BundleRow | None = None,
    components: list[str] | None = None,
    break_glass: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    rehearsal: str | None = None,
    guard: dict[str, Any] | None = None,
    expect_live_seq: int | None = None,
    authority: Callable[[Index, PointerRow], dict[str, Any]] | None = None,
) -> RollbackResult:
    """Roll NAME back in ENV (see the module docstring). `guard`: the figures when `bundlectl guard --apply` rolls back,
    having judged the live bundle set at `expect_live_seq` (a conflict if ENV moved since). `authority`: the owner's
    claim to roll back without a promoter role (drift/authority.py), recorded with the move."""
    now = now or now_utc()
    components = list(dict.fromkeys(components or []))
    if break_glass and not reason:
        raise UsageProblem("--break-glass needs --reason TEXT", "say why this cannot wait for evidence; it is recorded")

    def no_canary(index: Index) -> None:
        if expect_live_seq is not None and canary_in_force(index, name, env) is not None:  # the guard saw none
            raise Conflict(
                f"a canary of {name} started in {env} while the guard judged the live bundle; nothing was changed",
                "run the guard again: it judges the canary now",
            )
        refuse_during_canary(index, name, env, "moving the live bundle")

    no_canary(index_at_head(storage))  # before planning: say the real reason
    plan = plan_rollback(storage, name, env, to, components, now)
    if expect_live_seq is not None and plan.pointer_seq != expect_live_seq:
        raise Conflict(f"{env} of {name} moved while the guard judged it; nothing was changed", "run the guard again: it judges what is live now")
    outcome = _Outcome()

    def decide(index: Index, pointer: PointerRow | None) -> Decision:
        no_canary(index)  # a plain rollback ends it instead (rollback_or_end_canary)
        extras = MoveExtras(components=plan.components) if plan.components else MoveExtras()
        if rehearsal:
            extras["rehearsal"] = rehearsal
        if guard is not None:
            extras["guard"] = guard
        if authority is not None and pointer is not None:
            extras["authority"] = authority(index, pointer)
        if not plan.components:  # whole rollback: it was gated when it went live here before
            outcome.verified = _was_verified(index, name, env, plan.target.digest)
            extras["verified"] = outcome.verified
            return Decision(None, extras)
        gate = evaluate_gate(index, plan.target, env, recorded_actor(index, "rollback", {"env": env}, actor), now, plan.live)
        outcome.gate = gate
        extras["parents"] = [
            Parent(version=plan.live.version, digest=plan.live.digest),
            Parent(version=plan.source.version, digest=plan.source.digest),
        ]
        if plan.new_record is not None:
            extras["record"] = plan.new_record.to_json()
            extras["record_digest"] = plan.new_record.record_digest
        if gate.passed:
            extras["verified"] = True
        elif dry_run and not break_glass:
            outcome.would_refuse = True
        elif not break_glass:
            raise GateRefused(gate)
        else:
            outcome.verified = False
            extras["verified"], extras["break_glass"] = False, True
        return Decision(gate, extras)

    move = move_pointer(storage, plan.target, env, actor, "rollback", decide, reason, dry_run, plan.pointer_seq)
    return RollbackResult(plan, move, outcome.verified, break_glass and not outcome.verified, outcome.gate, outcome.would_refuse)


def refusal_advice(gate: GateResult, components: list[str], to: str | None = None) -> list[str]:
    """What to do about each check that refused a component rollback: only the checks that failed, each once."""
    ref, env = f"{gate.name}@{gate.version}", gate.env
    failed = [c.name.split(".")[0] for c in gate.failures()]
    swap = " ".join(f"--component {k}" for k in components) + (f" --to {to}" if to else "")
    advice = []
    if any(name in ("eval", "latency", "cost") for name in failed):
        advice.append(
            f"evidence for {ref} itself: `bundlectl rollback {gate.name} --env {env} {swap} --register-only`, "
            f"then `bundlectl eval {ref}`, then roll back again"
        )
    if "rehearsal" in failed:
        advice.append(
            f"rehearse the rollback outside production (`bundlectl rollback {gate.name} --env staging {swap} --rehearse`)"
            f", or let the policy waive it: `rollback: {{waive: [rehearsal]}}` under {env}"
        )
    for name in (n for n in ("after", "regression", "approvals") if n in failed):
        extra = f"; or `bundlectl approve {ref} --env {env}` by someone else" if name == "approvals" else ""
        advice.append(f"{name}: the policy can waive it for component rollbacks (`rollback: {{waive: [{name}]}}` under {env}){extra}")
    advice.append("or go live unverified now: add --break-glass --reason TEXT")
    return advice


def break_glass_standing(gate: GateResult | None) -> str:
    """What `status --check` will say of a bundle that went live by break-glass: it counts as verified once its
    eval evidence passes the environment's eval gate (status.py), which may already be the case."""
    if gate is None:
        return "`status --check` fails until fresh passing eval evidence for this digest is added"
    failed = ", ".join(c.name for c in gate.failures())
    if not any(c.name.startswith("eval") for c in gate.failures()):
        return f"went live past {failed}; its eval evidence passes, so `status --check` counts it verified"
    return f"went live past {failed}; `status --check` fails until fresh passing eval evidence for this digest is added"


@dataclass
class _Outcome:
    verified: bool = True
    gate: GateResult | None = None
    would_refuse: bool = False


def _was_verified(index: Index, name: str, env: str, digest: str) -> bool:
    for move in index.moves(name, env):
        if move.to_digest == digest:
            return move.verified
    return True


def rehearse(
    storage: Storage,
    name: str,
    env: str,
    actor: Acting,
    reason: str | None = None,
    *,
    to: BundleRow | None = None,
    components: list[str] | None = None,
    break_glass: bool = False,
) -> Rehearsal:
    """Roll back and forward again in a non-production environment, then record the rehearsal.

    Three events, each atomic on its own: if interrupted, the environment is left rolled back
    (a valid, visible state) and no rehearsal is recorded.
    """

    index = index_at_head(storage)
    if environment_policy(index, env).production:
        raise Refused(
            f"{env} is a production environment in the policy; rehearsals are refused there",
            "rehearse in staging, then promote to production with the recorded rehearsal",
        )
    started, clock = now_utc(), time.perf_counter()  # the clock times the steps: now_utc() has whole seconds only
    back = rollback(
        storage, name, env, actor, reason or "rollback rehearsal", to=to, components=components, break_glass=break_glass, rehearsal="back"
    )
    assert back.move is not None
    forward_to = back.plan.live
    back_done = time.perf_counter()
    forward = _roll_forward(storage, name, env, actor, forward_to)
    done = time.perf_counter()
    # measured to the microsecond, two rehearsals within one second are two runs, not one report bound twice
    report = {
        "format": "bundlectl/evidence-v1",
        "kind": "rehearsal",
        "run_at": rfc3339(started),
        "tool": "bundlectl rollback --rehearse",
        "metrics": {"rollback_ms": round((back_done - clock) * 1000, 3), "roll_forward_ms": round((done - back_done) * 1000, 3)},
    }
    evidence = add_evidence(
        storage,
        forward_to,
        json.dumps(report, sort_keys=True).encode(),
        "rehearsal",
        "rehearsal",
        "native",
        actor,
        f"rehearsed rollback of {name} in {env}",
    )
    return Rehearsal(back, forward, evidence)


def _roll_forward(storage: Storage, name: str, env: str, actor: Acting, to: BundleRow) -> RollbackResult:
    return rollback(storage, name, env, actor, "rollback rehearsal: roll forward", to=to, rehearsal="forward")


def rollback_or_end_canary(
    storage: Storage,
    name: str,
    env: str,
    actor: Acting,
    reason: str | None = None,
    *,
    to: BundleRow | None = None,
    components: list[str] | None = None,
    break_glass: bool = False,
    dry_run: bool = False,
    as_owner: bool = False,
) -> RollbackReport | CanaryResult:
    """`bundlectl rollback`: point ENV back (or swap `components` back); a dry run also diffs the live bundle against
    the target. While a canary runs, a plain rollback ends it instead (a CanaryResult): what is live stays live.
    `as_owner`: by the bundle's owner on the authority of consecutive out-of-tolerance reviews (`bundlectl review`)."""
    if not to and not components:
        ended = end_running_canary(storage, name, env, actor, reason, dry_run)
        if ended is not None:
            return ended
    authority = owner_authority_claim if as_owner else None
    result = rollback(storage, name, env, actor, reason, to=to, components=components, break_glass=break_glass, dry_run=dry_run, authority=authority)
    return RollbackReport(result, rollback_diff(result, storage) if dry_run else None)


def rollback_diff(result: RollbackResult, storage: Storage) -> BundleDiff:
    """What a dry run would change: the live bundle against the one ENV would point at."""
    plan = result.plan
    live = registry_source(plan.live.record(), storage, f"{plan.live.name}@{plan.live.version}")
    target = registry_source(plan.target.record(), storage, f"{plan.target.name}@{plan.target.version}")
    return diff_bundles(live, target)
