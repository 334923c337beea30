"""Collecting a release report from the registry, by the same functions `gate`, `diff`, `evidence list`,
`history` and `guard` use; this module only chooses what to ask them and puts the answers together."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bundlectl.diff.bundles import BundleDiff, diff_bundles
from bundlectl.errors import BundlectlError
from bundlectl.evidence.listing import list_evidence
from bundlectl.foundation.clock import parse_time
from bundlectl.foundation.durations import format_duration
from bundlectl.gate.evaluate import evaluate_gate
from bundlectl.gate.result import GateResult
from bundlectl.policy.freshness import run_age
from bundlectl.policy.in_force import environment_policy
from bundlectl.registry.index import Index
from bundlectl.registry.refs import registry_source
from bundlectl.registry.rows import BundleRow, EvidenceRow
from bundlectl.registry.signatures import checked_index, named_by_keys, trust_in_force
from bundlectl.report.canary_view import canary_view
from bundlectl.report.cases import CaseComparison, compare_cases, stored_cases
from bundlectl.report.model import (
    Measured,
    Operations,
    ReleaseReport,
    RoleThreshold,
    RollbackReadiness,
    Signature,
    TimelineEntry,
    Verdict,
)
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting
from bundlectl.trust.roles import Trust
from bundlectl.workflows.status import pointer_history

if TYPE_CHECKING:
    from bundlectl.workflows.guard import GuardReport

TIMELINE_LIMIT = 100  # per environment: a report is read, not audited; `history` has the rest


def collect_report(
    storage: Storage, bundle: BundleRow, env: str, actor: Acting, guard: GuardReport | None = None, now: datetime | None = None
) -> ReleaseReport:
    """The report of `bundle` against what is live in `env`, as of `now` (default: the newest log record's time)."""
    index = checked_index(storage)
    policy = environment_policy(index, env)  # an environment the policy does not define is refused here, first
    last = index.last_time()
    as_of = now or (parse_time(last) if last else datetime.fromtimestamp(0).astimezone())
    trust = trust_in_force(index)
    gate = evaluate_gate(index, bundle, env, named_by_keys(trust, actor), as_of)
    baseline = _baseline(index, bundle, env)
    cases, note = _cases(storage, index, bundle, baseline, gate)
    cost = policy.gates.cost
    evidence = list_evidence(index, bundle, env, as_of).evidence
    return ReleaseReport(
        name=bundle.name,
        version=bundle.version,
        digest=bundle.digest,
        env=env,
        as_of=as_of.isoformat(),
        head=index.head().hash,
        live_version=baseline.version if baseline else None,
        live_digest=baseline.digest if baseline else None,
        verdict=_verdict(index, bundle, env, gate, trust),
        changes=_changes(storage, bundle, baseline),
        evidence=evidence,
        cases=cases,
        cases_note=note,
        operations=Operations(_measured(index, bundle), _measured(index, baseline) if baseline else None, cost.daily_tasks if cost else None),
        rollback=_rollback(index, bundle, baseline, as_of),
        canary=canary_view(index, bundle, env, guard),
        timeline=_timeline(index, bundle.name),
        signers={e.row.seq: _principals(e.row.signed_by, trust) for e in evidence if e.row.signed_by},
    )


def _baseline(index: Index, bundle: BundleRow, env: str) -> BundleRow | None:
    """What the candidate is compared with: what is live in ENV, or, once it is live itself, what was live before it."""
    live = index.pointer(bundle.name, env)
    if live is None:
        return None
    if live.digest != bundle.digest:
        return index.served_bundle(bundle.name, live.version)
    arrival = next((m for m in index.moves(bundle.name, env) if m.to_digest == bundle.digest), None)
    if arrival is None or not arrival.from_version:
        return None
    return index.served_bundle(bundle.name, arrival.from_version)


def _verdict(index: Index, bundle: BundleRow, env: str, gate: GateResult, trust: Trust | None) -> Verdict:
    if trust is None:
        return Verdict(gate, False, [], [])
    roles = [
        trust.admins,
        trust.approvers,
        trust.runners,
        *([trust.registrants] if trust.registrants else []),
        *([trust.promoters[env]] if env in trust.promoters else []),
    ]
    thresholds = [RoleThreshold(r.name, r.threshold, sorted({s.principal for s in r.signers})) for r in roles]
    names = {s.key.fingerprint: s.principal for s in trust.anyone().signers}
    signatures = [_signature(f"{row.kind} report of {row.version} (log record {row.seq})", row.signed_by, names) for row in gate.evidence_rows]
    signatures += [_signature(f"approval of {a.actor} (log record {a.seq})", a.signed_by, names) for a in index.approvals_for(bundle.digest, env)]
    return Verdict(gate, True, thresholds, signatures)


def _signature(record: str, fingerprints: frozenset[str], names: dict[str, str]) -> Signature:
    return Signature(record, sorted({names[f] for f in fingerprints if f in names}), sum(1 for f in fingerprints if f not in names))


def _principals(fingerprints: frozenset[str], trust: Trust | None) -> list[str]:
    """Who holds each signing key by the trust in force; a key it does not name is shown by its fingerprint."""
    names = {s.key.fingerprint: s.principal for s in trust.anyone().signers} if trust else {}
    return sorted(names.get(f, f"key {f}") for f in fingerprints)


def _changes(storage: Storage, bundle: BundleRow, baseline: BundleRow | None) -> BundleDiff | None:
    if baseline is None:
        return None
    before = registry_source(baseline.record(), storage, f"{baseline.name}@{baseline.version}")
    return diff_bundles(before, registry_source(bundle.record(), storage, f"{bundle.name}@{bundle.version}"))


def _newest_eval(index: Index, digest: str, used: tuple[EvidenceRow, ...]) -> EvidenceRow | None:
    """The run the gate read for this digest, else the newest eval run bound to it."""
    chosen = next((e for e in used if e.digest == digest and e.kind == "eval"), None)
    return chosen or next(iter(index.evidence_for(digest, "eval")), None)


def _cases(storage: Storage, index: Index, bundle: BundleRow, baseline: BundleRow | None, gate: GateResult) -> tuple[CaseComparison | None, str]:
    if baseline is None:
        return None, "nothing else is live in this environment to compare with"
    ours, theirs = _newest_eval(index, bundle.digest, gate.evidence_rows), _newest_eval(index, baseline.digest, gate.evidence_rows)
    if ours is None or theirs is None:
        missing = bundle.version if ours is None else baseline.version
        return None, f"{missing} has no eval report to compare case by case"
    try:
        mine = stored_cases(storage, ours, bundle.record())
        live = stored_cases(storage, theirs, baseline.record())
    except BundlectlError as exc:  # an old report that no longer binds: said, not fatal to the rest of the report
        return None, f"the stored reports cannot be compared case by case: {exc.message.splitlines()[0]}"
    comparison = compare_cases(mine, live, ours.seq, theirs.seq)
    return comparison, (f"eval report of log record {ours.seq} against live's of log record {theirs.seq}, {comparison.slices[0].paired} cases paired")


def _measured(index: Index, bundle: BundleRow) -> Measured:
    """Each figure from the newest report that gives it (the gate's `_measured` rule, without its freshness limit)."""
    found: dict[str, float | None] = {"latency_p50_ms": None, "latency_p95_ms": None, "cost_per_task_usd": None}
    origins: list[str] = []
    for row in index.evidence_for(bundle.digest):  # newest run first
        if row.kind not in ("eval", "load", "cost"):
            continue
        for key in found:
            if found[key] is None and isinstance(row.figures.get(key), (int, float)):
                found[key] = float(row.figures[key])
                origin = f"{row.kind} report of {row.run_at}"
                if origin not in origins:
                    origins.append(origin)
    return Measured(
        bundle.version,
        found["latency_p50_ms"],
        found["latency_p95_ms"],
        found["cost_per_task_usd"],
        "; ".join(origins) or "no report gives latency or cost",
    )


def _rollback(index: Index, bundle: BundleRow, baseline: BundleRow | None, as_of: datetime) -> RollbackReadiness:
    rehearsal = next(iter(index.evidence_for(bundle.digest, "rehearsal")), None)
    age = format_duration(run_age(rehearsal.run_at, as_of)) if rehearsal else None
    if baseline is None:
        note = "nothing would be left to roll back to: nothing else was live in this environment"
    else:
        note = f"a rollback would point the environment back at {baseline.name}@{baseline.version}"
    note += f"; last rehearsal {rehearsal.run_at} ({age} before this report)" if rehearsal else "; never rehearsed"
    return RollbackReadiness(
        baseline.version if baseline else None, baseline.digest if baseline else None, rehearsal.run_at if rehearsal else None, age, note
    )


def _timeline(index: Index, name: str) -> list[TimelineEntry]:
    entries = []
    for env in sorted({p.env for p in index.pointers(name)}):
        for row in pointer_history(index, name, env, TIMELINE_LIMIT):
            document = row.to_json()
            entries.append(
                TimelineEntry(
                    env,
                    row.seq,
                    row.time,
                    row.action,
                    document.get("from_version"),
                    document.get("to_version"),
                    document.get("percent"),
                    row.actor,
                    row.signed,
                    row.reason,
                )
            )
    return sorted(entries, key=lambda e: e.seq, reverse=True)
