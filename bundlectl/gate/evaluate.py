"""Gathering a gate's inputs from the index and running the checks."""

from __future__ import annotations

from datetime import datetime

from bundlectl.gate.checks import GateInputs, run_checks
from bundlectl.gate.result import GateResult
from bundlectl.policy.in_force import environment_policy
from bundlectl.registry.index import Index
from bundlectl.registry.rows import BundleRow
from bundlectl.registry.signatures import trust_in_force
from bundlectl.trust.rules import principals_of


def gate_inputs(index: Index, bundle: BundleRow, env: str, promoter: str, now: datetime, rollback_from: BundleRow | None = None) -> GateInputs:
    """ROLLBACK_FROM: the live bundle a component rollback replaces; the policy's rollback rules then apply. What only
    the approvals or regression check reads is gathered only when the policy has that gate (every reader judges every
    promotion in the log again, so a gate without them must not pay for them)."""
    policy = environment_policy(index, env)
    live = index.pointer(bundle.name, env)
    approving = policy.gates.approvals is not None
    return GateInputs(
        digest=bundle.digest,
        env=env,
        gates=policy.gates,
        after=policy.after,
        evidence=index.evidence_for(bundle.digest),
        live=live,
        live_evidence=index.evidence_for(live.digest) if live and policy.gates.regression else [],
        approvals=index.approvals_for(bundle.digest, env) if approving else [],
        registrants={who for r in index.bundles_with_digest(bundle.name, bundle.digest) for who in principals_of(r.actor)} if approving else set(),
        promoters=principals_of(promoter),
        was_live_after=bool(policy.after) and index.was_live(bundle.name, policy.after or "", bundle.digest),
        now=now,
        trust=trust_in_force(index),
        waived=policy.rollback_waives if rollback_from is not None else frozenset(),
        rolled_back_rehearsals=index.evidence_for(rollback_from.digest, "rehearsal") if rollback_from is not None else [],
    )


def evaluate_gate(index: Index, bundle: BundleRow, env: str, promoter: str, now: datetime, rollback_from: BundleRow | None = None) -> GateResult:
    inputs = gate_inputs(index, bundle, env, promoter, now, rollback_from)
    checks, used = run_checks(inputs)
    rows = {e.seq: e for e in [*inputs.evidence, *inputs.live_evidence, *inputs.rolled_back_rehearsals]}
    return GateResult(bundle.name, bundle.version, bundle.digest, env, checks, used, tuple(rows[seq] for seq in used))
