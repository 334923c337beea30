"""Gathering a gate's inputs from the index and running the checks."""

from __future__ import annotations

from datetime import datetime

from bundlectl.errors import Refused
from bundlectl.gate.checks import GateInputs, run_checks
from bundlectl.gate.result import GateResult
from bundlectl.registry.index import BundleRow, Index


def environment_policy(index: Index, env: str) -> dict:
    policy, _ = index.policy()
    if policy is None:
        raise Refused("no gate policy is in force", "store one with `bundlectl policy set FILE`")
    environments = policy.get("environments", {})
    if env not in environments:
        raise Refused(f"environment {env!r} is not defined in the gate policy",
                      f"defined: {', '.join(environments) or 'none'}; add it with `bundlectl policy set`")
    return environments[env]


def gate_inputs(index: Index, bundle: BundleRow, env: str, promoter: str, now: datetime) -> GateInputs:
    env_policy = environment_policy(index, env)
    live = index.pointer(bundle.name, env)
    after = env_policy.get("after")
    return GateInputs(
        digest=bundle.digest, env=env, gates=env_policy.get("gates") or {}, after=after,
        evidence=index.evidence_for(bundle.digest),
        live=live, live_evidence=index.evidence_for(live.digest) if live else [],
        approvals=index.approvals_for(bundle.digest, env),
        registrants={r.actor for r in index.bundles_with_digest(bundle.name, bundle.digest)},
        promoter=promoter,
        was_live_after=bool(after) and index.was_live(bundle.name, after, bundle.digest),
        now=now,
    )


def evaluate_gate(index: Index, bundle: BundleRow, env: str, promoter: str, now: datetime) -> GateResult:
    checks, used = run_checks(gate_inputs(index, bundle, env, promoter, now))
    return GateResult(bundle.name, bundle.version, bundle.digest, env, checks, used)
