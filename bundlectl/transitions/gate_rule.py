"""A gated record's gate is judged again from the log before it, by the gate code promote runs: the policy and
trust in force at that seq, the evidence recorded (each judged valid when it was taken in), the approvals,
`after`, at the record's own time. The `gate` a record carries is a cache of that judgment."""

from __future__ import annotations

from bundlectl.errors import BundlectlError
from bundlectl.foundation.clock import parse_time
from bundlectl.gate.checks import GateInputs, run_checks
from bundlectl.gate.evaluate import gate_inputs
from bundlectl.gate.result import Check
from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.registry.rows import BundleRow, EvidenceRow
from bundlectl.transitions.failures import ForgedGate

# How a promotion by a bundlectl from before reports were matched case by case counted their evidence: whole.
_COUNTED_THEN = '{"cases":"before-binding"}'


def require_gate(index: Index, bundle: BundleRow, env: str, event: Event, rollback_from: BundleRow | None = None) -> list[Check]:
    """The gate of `env` for `bundle` as the record's actor met it at the record's time; ForgedGate unless it passes.
    ROLLBACK_FROM: the live bundle a component rollback replaced (the policy's rollback rules applied then too)."""
    try:
        inputs = gate_inputs(index, bundle, env, event.actor, parse_time(event.time), rollback_from)
    except BundlectlError as exc:  # no policy in force, or none for this environment: nothing could pass
        raise ForgedGate(event, f"moves {bundle.name} in {env} through a gate that cannot be judged from the log before it: {exc.message}") from None
    if not index.has_run_provenance():
        inputs = _as_judged_then(inputs)
    checks, _ = run_checks(inputs)
    failures = [c for c in checks if not c.passed]
    if failures:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in failures)
        raise ForgedGate(
            event, f"says {bundle.name}@{bundle.version} passed the gate of {env}, but judged again from the log before it, it fails ({failed})"
        )
    return checks


def _as_judged_then(inputs: GateInputs) -> GateInputs:
    """Before the log holds any evidence with provenance, every evidence record is an older bundlectl's, whose gate
    counted a report without matching its cases (today's gate never counts those): judge its promotions as it did.
    Their figures are still the stored reports' own (the evidence rule derived them again)."""

    def then(row: EvidenceRow) -> EvidenceRow:
        return row._replace(binding_json=_COUNTED_THEN) if row.binding_json is None else row

    return inputs._replace(evidence=[then(r) for r in inputs.evidence], live_evidence=[then(r) for r in inputs.live_evidence])
