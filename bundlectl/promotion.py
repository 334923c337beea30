"""Changing what is live: policy set, approve and promote, each one logged event.

Promotion runs the gate on every planning attempt (a paused environment refuses it first) and moves
the pointer through `moves.move_pointer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bundlectl.clock import now_utc
from bundlectl.digest.canonical import digest_of
from bundlectl.gate.evaluate import evaluate_gate
from bundlectl.gate.result import GateRefused, GateResult
from bundlectl.moves import Decision, MoveResult, move_pointer
from bundlectl.pausing import refuse_while_paused
from bundlectl.policy.in_force import environment_policy
from bundlectl.registry.events import ApprovalData, PolicyData
from bundlectl.registry.fresh import fresh_index
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append
from bundlectl.registry.rows import BundleRow, PointerRow
from bundlectl.storage.base import Storage


@dataclass(frozen=True)
class PolicyResult:
    policy: dict[str, Any]
    digest: str
    created: bool
    seq: int | None


def set_policy(storage: Storage, data: bytes, label: str, actor: str, reason: str | None = None,
               dry_run: bool = False) -> PolicyResult:
    from bundlectl.policy.load import parse_policy

    document = parse_policy(data, label).model_dump(mode="json")
    digest = digest_of(document)

    def plan(index: Index) -> Planned | None:
        current, _ = index.policy()
        if current is not None and digest_of(current) == digest:
            return None
        return Planned("policy", PolicyData(policy=document, policy_digest=digest))

    if dry_run or plan(fresh_index(storage)) is None:
        return PolicyResult(document, digest, False, None)
    event = append(storage, plan, actor, reason)
    return PolicyResult(document, digest, event is not None, event.seq if event else None)


def approve(storage: Storage, bundle: BundleRow, env: str, actor: str, reason: str | None = None) -> int | None:
    """Record `actor`'s approval of this bundle digest for `env`; approving twice is a no-op."""

    def plan(index: Index) -> Planned | None:
        environment_policy(index, env)
        if any(a.actor == actor for a in index.approvals_for(bundle.digest, env)):
            return None
        return Planned("approval", ApprovalData(name=bundle.name, version=bundle.version, digest=bundle.digest, env=env))

    event = append(storage, plan, actor, reason)
    return event.seq if event else None


def check_gate(storage: Storage, bundle: BundleRow, env: str, actor: str, now: datetime | None = None) -> GateResult:
    return evaluate_gate(fresh_index(storage), bundle, env, actor, now or now_utc())


def registry_reader(storage: Storage, record: Any) -> Any:
    """Read a registered bundle's files by bundle-relative path, digests checked."""
    from bundlectl.refs import registry_source

    return registry_source(record, storage, record.ref).read_file


def require_compatible_row(storage: Storage, bundle: BundleRow, action: str) -> None:
    from bundlectl.constraints import require_compatible

    record = bundle.record()
    require_compatible(record, registry_reader(storage, record), action)


def promote(storage: Storage, bundle: BundleRow, env: str, actor: str, reason: str | None = None,
            dry_run: bool = False, now: datetime | None = None, guard: dict[str, Any] | None = None,
            expect_canary: int | None = None) -> MoveResult:
    """Move ENV to `bundle` through the gate; during a canary only its candidate may go live, which completes it.

    `guard` holds the figures when `bundlectl guard --apply` completes a canary, at the step `expect_canary`.
    """
    from bundlectl.canary import completion

    require_compatible_row(storage, bundle, "promotion")

    def decide(index: Index, pointer: PointerRow | None) -> Decision:
        refuse_while_paused(index, bundle.name, env)
        extras, updates = completion(storage, index, bundle, env, expect_canary)
        result = evaluate_gate(index, bundle, env, actor, now or now_utc())
        if not result.passed:
            raise GateRefused(result)
        extras["verified"] = True
        if guard is not None:
            extras["guard"] = guard
        return Decision(result, extras, updates)

    return move_pointer(storage, bundle, env, actor, "promote", decide, reason, dry_run)
