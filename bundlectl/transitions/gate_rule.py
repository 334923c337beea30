"""A gated record's gate is judged again from the log before it, by the gate code promote runs: the policy and
trust in force at that seq, the evidence recorded (each judged valid when it was taken in), the approvals,
`after`, at the record's own time. The `gate` a record carries is a cache of that judgment."""

from __future__ import annotations

from bundlectl.clock import parse_time
from bundlectl.errors import BundlectlError
from bundlectl.gate.evaluate import evaluate_gate
from bundlectl.gate.result import GateResult
from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.registry.rows import BundleRow
from bundlectl.transitions.failures import ForgedGate


def require_gate(index: Index, bundle: BundleRow, env: str, event: Event) -> GateResult:
    """The gate of `env` for `bundle` as the record's actor met it at the record's time; ForgedGate unless it passes."""
    try:
        result = evaluate_gate(index, bundle, env, event.actor, parse_time(event.time))
    except BundlectlError as exc:  # no policy in force, or none for this environment: nothing could pass
        raise ForgedGate(event, f"moves {bundle.name} in {env} through a gate that cannot be judged from the log "
                                f"before it: {exc.message}") from None
    if not result.passed:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in result.failures())
        raise ForgedGate(event, f"says {bundle.name}@{bundle.version} passed the gate of {env}, but judged again from "
                                f"the log before it, it fails ({failed})")
    return result
