"""Whether a drift run is a measurement the environment accepts: its eval gate's demands on reports (runner
signatures under `signed_by: runners`, tool pins) hold for the runs that keep its drift schedule too."""

from __future__ import annotations

from bundlectl.gate.checks import eval_standing
from bundlectl.policy.in_force import environment_policy
from bundlectl.registry.index import Index
from bundlectl.registry.rows import EvidenceRow
from bundlectl.registry.signatures import trust_in_force


def uncounted_run(index: Index, env: str, run: EvidenceRow) -> str | None:
    """Why the eval gate of ENV in force would not count RUN; None when it would (or ENV has no eval gate)."""
    gate = environment_policy(index, env).gates.eval
    if gate is None:
        return None
    standing = eval_standing(run, gate, trust_in_force(index))
    return None if standing.counts else standing.why
