"""`bundlectl drift`: re-run the live bundle's declared harness and judge it against the run that admitted it.

Without --apply nothing is stored. With it, the run is stored as evidence, a `drift` record names both runs
(its figures re-derive from their stored reports), and on drift the environment's policy action follows as
its own logged event: a pause or a rollback, signed by whoever applied it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from bundlectl.driftcheck.baseline import admitting_run, stored_cases
from bundlectl.driftcheck.compare import Comparison
from bundlectl.driftcheck.decision import Decision, drift_policy
from bundlectl.driftcheck.figures import drift_figures, judge
from bundlectl.driftcheck.standing import uncounted_run
from bundlectl.errors import Conflict, NotFound, Refused
from bundlectl.evidence.run import run_eval
from bundlectl.policy.in_force import DriftPolicy
from bundlectl.registry.events import DriftData
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append, recorded_actor
from bundlectl.registry.read import index_at_head
from bundlectl.registry.rows import BundleRow, PointerRow
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting
from bundlectl.workflows.pause import set_paused
from bundlectl.workflows.rollback import rollback


class DriftResult(NamedTuple):
    name: str
    env: str
    version: str
    digest: str
    baseline: int  # the evidence seq of the admitting run
    run: int | None  # the evidence seq of this run, once stored (--apply)
    exit_status: int  # the harness's own
    comparison: Comparison
    decision: Decision
    policy: DriftPolicy
    applied: bool
    seq: int | None = None  # the drift record
    action: str = "none"  # what was done: none (stable or not applied), notify, pause, rollback
    action_seq: int | None = None  # the pause or rollback record

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "env": self.env,
            "version": self.version,
            "digest": self.digest,
            "baseline": self.baseline,
            "run": self.run,
            "exit_status": self.exit_status,
            **self.decision.to_json(),
            **self.comparison.to_json(),
            "policy": self.policy._asdict(),
            "applied": self.applied,
            "seq": self.seq,
            "action": self.action,
            "action_seq": self.action_seq,
        }


def live_bundle(index: Index, name: str, env: str) -> tuple[PointerRow, BundleRow]:
    pointer = index.pointer(name, env)
    if pointer is None:
        raise NotFound(f"nothing of {name} is live in {env}", f"check the name and environment: `bundlectl status {name}`")
    return pointer, index.served_bundle(name, pointer.version, "is live")


def check_drift(
    storage: Storage,
    name: str,
    env: str,
    actor: Acting,
    reason: str | None = None,
    *,
    apply: bool = False,
    output: Callable[[bytes], None] | None = None,
    report: str | None = None,
) -> DriftResult:
    """`report`: where the declared harness writes its report, when bundlectl cannot tell (as `eval --report`)."""
    index = index_at_head(storage)
    policy = drift_policy(index, env)
    pointer, bundle = live_bundle(index, name, env)
    if apply:  # keys that may not sign the drift record (or the policy's action) are refused before anything is stored
        recorded_actor(index, "drift", {"name": name, "env": env}, actor)
        if policy.action in ("pause", "rollback"):
            recorded_actor(index, policy.action, {"name": name, "env": env}, actor)
    record = bundle.record()
    baseline = admitting_run(index, pointer)
    before = stored_cases(storage, record, baseline)
    ran = run_eval(storage, bundle, [], report, "auto", actor, reason or f"drift run of {name} in {env}", output=output, store=apply)
    assert ran.added.bound is not None  # an eval run is always bound
    comparison, decision = judge(record, before, ran.added.bound.cases, ran.added.figures, policy.alpha)
    result = DriftResult(
        name, env, pointer.version, pointer.digest, baseline.seq, ran.added.seq, ran.exit_status, comparison, decision, policy, apply
    )
    if not apply or ran.added.seq is None:
        return result
    action = decision.action(policy)
    data = DriftData(
        name=name,
        env=env,
        digest=pointer.digest,
        version=pointer.version,
        baseline=baseline.seq,
        run=ran.added.seq,
        alpha=policy.alpha,
        decision=decision.decision,
        figures=drift_figures(comparison, decision),
        action=action,
    )

    def plan(now: Index) -> Planned:
        # readers judge the record against the log just before it (transitions/drift_rule.py): what it was judged on here must still hold
        moved = now.pointer(name, env)
        if moved is None or (moved.digest, moved.pointer_version) != (pointer.digest, pointer.pointer_version) or drift_policy(now, env) != policy:
            raise Conflict(
                f"{env} of {name} moved, or its drift policy changed, while its harness ran; the run was stored as "
                f"evidence of {name}@{pointer.version}, and no drift record was written",
                "run `bundlectl drift` again",
            )
        stored = now.evidence_by_seq([data["run"]])
        uncounted = uncounted_run(now, env, stored[0]) if stored else "it is not in the log"
        if uncounted is not None:  # readers would refuse the record (transitions/drift_rule.py): write none
            raise Refused(
                f"the run was stored as evidence {data['run']} of {name}@{pointer.version}, but the eval gate of {env} would not "
                f"count it ({uncounted}), so no drift record was written",
                "run `bundlectl drift --apply` where the gate's reports come from: with a runner key, and the pinned tool",
            )
        return Planned("drift", data)

    event = append(storage, plan, actor, reason or f"{decision.decision}: " + ("; ".join(decision.reasons) or "no case flipped beyond chance"))
    assert event is not None
    result = result._replace(seq=event.seq, action=action)
    return result._replace(action_seq=_act(storage, result, actor)) if action in ("pause", "rollback") else result


def _act(storage: Storage, result: DriftResult, actor: Acting) -> int | None:
    """The policy's action on drift, as its own logged event naming the drift record."""
    why = f"drift found by drift run {result.seq}: {'; '.join(result.decision.reasons)}"
    if result.action == "pause":
        return set_paused(storage, result.name, result.env, actor, why, paused=True).seq
    moved = rollback(storage, result.name, result.env, actor, why).move
    return moved.seq if moved else None
