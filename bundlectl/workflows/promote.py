"""Changing what is live: policy set, approve and promote, each one logged event.

Promotion runs the gate on every planning attempt (a paused environment refuses it first) and moves
the pointer through `moves.move_pointer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from bundlectl.digest.canonical import digest_of
from bundlectl.errors import NotFound
from bundlectl.foundation.clock import now_utc
from bundlectl.gate.evaluate import evaluate_gate
from bundlectl.gate.result import GateRefused, GateResult
from bundlectl.policy.in_force import environment_policy
from bundlectl.registry.events import ApprovalData, PolicyData
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append, recorded_actor, signing
from bundlectl.registry.read import index_at_head
from bundlectl.registry.refs import require_compatible_row
from bundlectl.registry.rows import BundleRow, PointerRow
from bundlectl.registry.signatures import Signing, checked_index, named_by_keys, trust_in_force
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting
from bundlectl.webhooks.notices import notify_refused
from bundlectl.workflows.canary import completion
from bundlectl.workflows.moves import Decision, MoveResult, move_pointer
from bundlectl.workflows.pause import refuse_while_paused


@dataclass(frozen=True)
class PolicyResult:
    policy: dict[str, Any]
    digest: str
    created: bool
    seq: int | None


def set_policy(storage: Storage, data: bytes, label: str, actor: Acting, reason: str | None = None, *, dry_run: bool = False) -> PolicyResult:
    from bundlectl.policy.load import parse_policy

    document = parse_policy(data, label).model_dump(mode="json")
    digest = digest_of(document)

    def plan(index: Index) -> Planned | None:
        current, _ = index.policy()
        if current is not None and digest_of(current) == digest:
            return None
        return Planned("policy", PolicyData(policy=document, policy_digest=digest))

    if dry_run or plan(index_at_head(storage)) is None:
        return PolicyResult(document, digest, False, None)
    event = append(storage, plan, actor, reason)
    return PolicyResult(document, digest, event is not None, event.seq if event else None)


class PolicyInForce(NamedTuple):
    policy: dict[str, Any]
    seq: int

    def to_json(self) -> dict[str, Any]:
        """The `policy show --json` document."""
        return {"seq": self.seq, "policy": self.policy}


def show_policy(storage: Storage) -> PolicyInForce:
    """The policy in force and the event that stored it; NotFound when there is none."""
    document, seq = index_at_head(storage).policy()
    if document is None or seq is None:
        raise NotFound("no gate policy is in force", "store one with `bundlectl policy set FILE`")
    return PolicyInForce(document, seq)


@dataclass(frozen=True)
class ApprovalResult:
    actor: str  # the approving key's principal once trust is set, else the claimed identity
    signed: bool
    seq: int | None  # None: approved before, nothing written
    not_counted: str | None = None  # why the gate will never count it (the approver registered this bundle), if so


def approve(storage: Storage, bundle: BundleRow, env: str, actor: Acting, reason: str | None = None) -> ApprovalResult:
    """Record `actor`'s approval of this bundle digest for `env`.

    Approving twice is a no-op; once trust is set, only an approval signed by the same key is the same approval.
    """
    planned = Planned("approval", ApprovalData(name=bundle.name, version=bundle.version, digest=bundle.digest, env=env))
    who: list[Signing] = []

    def plan(index: Index) -> Planned | None:
        environment_policy(index, env)
        who[:] = [signing(index, planned, actor)]
        keys = {k.public.fingerprint for k in who[0].keys}
        if any(a.actor == who[0].actor and keys <= a.signed_by for a in index.approvals_for(bundle.digest, env)):
            return None
        return planned

    event = append(storage, plan, actor, reason)
    return ApprovalResult(who[0].actor, bool(who[0].keys), event.seq if event else None, _not_counted(storage, bundle, env, who[0].actor))


def _not_counted(storage: Storage, bundle: BundleRow, env: str, approver: str) -> str | None:
    """Why ENV's approvals check will never count this approval: its approver registered the bundle (exclude_author)."""
    from bundlectl.trust.rules import principals_of

    index = index_at_head(storage)
    gate = environment_policy(index, env).gates.approvals
    if gate is None or not gate.exclude_author:
        return None
    registrants = {who for r in index.bundles_with_digest(bundle.name, bundle.digest) for who in principals_of(r.actor)}
    if approver in registrants:
        return (
            f"{approver} registered {bundle.name}@{bundle.version}, and {env}'s approvals check leaves out the author "
            "(exclude_author): this approval is recorded but will never count; ask someone else to approve"
        )
    return None


def check_gate(storage: Storage, bundle: BundleRow, env: str, actor: Acting, now: datetime | None = None) -> GateResult:
    """The gate of `env` for `bundle` as if `actor` promoted it now (its keys' principal, once trust is set)."""
    index = checked_index(storage)
    return evaluate_gate(index, bundle, env, named_by_keys(trust_in_force(index), actor), now or now_utc())


def promote(
    storage: Storage,
    bundle: BundleRow,
    env: str,
    actor: Acting,
    reason: str | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    guard: dict[str, Any] | None = None,
    expect_canary: int | None = None,
    notify: bool = False,
) -> MoveResult:
    """Move ENV to `bundle` through the gate; during a canary only its candidate may go live, which completes it.

    `guard` holds the figures when `bundlectl guard --apply` completes a canary, at the step `expect_canary`.
    A refusal raises GateRefused (carrying the gate), after telling the webhooks subscribed to promotion.refused when
    `notify` (a dry run tells nobody).
    """
    require_compatible_row(storage, bundle, "promotion")

    def decide(index: Index, pointer: PointerRow | None) -> Decision:
        refuse_while_paused(index, bundle.name, env, expect_canary)
        promoter = recorded_actor(index, "promote", {"env": env}, actor)  # refused here if `actor` may not move env
        extras, updates = completion(storage, index, bundle, env, expect_canary)
        result = evaluate_gate(index, bundle, env, promoter, now or now_utc())
        if not result.passed:
            raise GateRefused(result)
        extras["verified"] = True
        if guard is not None:
            extras["guard"] = guard
        return Decision(result, extras, updates)

    try:
        return move_pointer(storage, bundle, env, actor, "promote", decide, reason, dry_run)
    except GateRefused as refused:
        if notify and not dry_run:
            notify_refused(storage, refused.result, lambda: actor.claimed, reason)
        raise
