"""Canary releases: a candidate beside the live bundle, served to a sticky share of requests, moved on step by step.

`promote REF --env ENV --canary PERCENT` starts one (the candidate passes the gate like any promotion); the
guard advances it a step (`canary-advance`) or ends it (`canary-rollback`), as `rollback NAME --env ENV`
does; `promote` of the candidate completes it: the environment pointer moves and the canary pointer is
cleared in the same atomic step. While a canary runs, nothing else moves the environment. Each event sets
the canary pointer (`canaries/NAME/ENV`), which runtimes poll beside the environment pointer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from bundlectl.errors import Conflict, NotFound, Refused, UsageProblem
from bundlectl.foundation.clock import now_utc
from bundlectl.foundation.durations import duration_option
from bundlectl.gate.evaluate import evaluate_gate
from bundlectl.gate.result import GateRefused, GateResult
from bundlectl.registry.events import CanaryData, GateRecord, MoveExtras
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append, recorded_actor
from bundlectl.registry.pointers import CanaryValue, canary_pointer_name, logged_canary, stored_as_logged
from bundlectl.registry.read import index_at_head
from bundlectl.registry.refs import require_compatible_row
from bundlectl.registry.rows import BundleRow, CanaryRow, PointerRow
from bundlectl.storage.base import Pointer, PointerUpdate, Storage
from bundlectl.trust.identity import Acting
from bundlectl.workflows.pause import refuse_while_paused

DEFAULT_STEP_TIME = timedelta(hours=1)


class CanaryResult(NamedTuple):
    name: str
    env: str
    action: str  # canary | canary-advance | canary-rollback
    version: str  # the candidate
    digest: str
    percent: int  # its share from now on (0: ended)
    live: PointerRow
    before: CanaryRow | None  # the canary record in force before this command
    seq: int | None  # the event written; None for a dry run or a no-op
    dry_run: bool
    gate: GateResult | None = None

    @property
    def changed(self) -> bool:
        return self.seq is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "env": self.env,
            "action": self.action,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "seq": self.seq,
            "candidate": {"version": self.version, "digest": self.digest},
            "percent": self.percent,
            "live": {"version": self.live.version, "digest": self.live.digest, "pointer_version": self.live.pointer_version},
            "gate": self.gate.to_json() if self.gate else None,
        }


def canary_steps(percent: int, steps: list[int] | None) -> list[int]:
    """The shares a canary moves through, ending at 100 (completion); `percent` must be one of them."""
    if not 1 <= percent <= 99:
        raise UsageProblem(
            f"--canary {percent}: a canary's share is a whole percentage from 1 to 99", "100% is a plain promotion: `bundlectl promote REF --env ENV`"
        )
    if steps and any(later <= earlier for earlier, later in zip(steps, steps[1:], strict=False)):
        raise UsageProblem(
            f"--steps {','.join(map(str, steps))}: the steps must rise, each larger than the one before",
            f"list them in the order the canary takes them, e.g. --steps {','.join(map(str, sorted(set(steps))))}",
        )
    chosen = sorted(set(steps or [percent, 100]))
    if chosen[-1] != 100:
        chosen.append(100)
    if chosen[0] < 1 or chosen[-1] > 100:
        raise UsageProblem(f"--steps {','.join(map(str, steps or []))}: each step is a percentage from 1 to 100")
    if percent not in chosen:
        raise UsageProblem(
            f"--canary {percent} is not one of --steps {','.join(map(str, chosen))}", "start the canary at one of its steps (usually the first)"
        )
    return chosen


def canary_in_force(index: Index, name: str, env: str) -> CanaryRow | None:
    """The canary running in ENV now: its newest record has a share and no promotion has completed it."""
    row, completed = index.canary(name, env)
    return row if row is not None and row.percent and completed is None else None


def refuse_during_canary(index: Index, name: str, env: str, what: str) -> None:
    running = canary_in_force(index, name, env)
    if running is not None:
        raise Refused(
            f"a canary of {running.version} is running in {env} at {running.percent}%, so {what} is refused; nothing was changed",
            f"complete it with `bundlectl promote {name}@{running.version} --env {env}`, or end it with `bundlectl rollback {name} --env {env}`",
        )


def _stored_canary(storage: Storage, index: Index, name: str, env: str) -> Pointer | None:
    """The stored canary pointer, checked against the log before anything is decided on it."""
    row, completed = index.canary(name, env)
    return stored_as_logged(storage, canary_pointer_name(name, env), logged_canary(row, completed), index.head().id, CanaryValue.decode)


def _data(name: str, env: str, candidate: BundleRow | CanaryRow, percent: int, live: PointerRow, steps: list[int], step_time: int) -> CanaryData:
    return CanaryData(
        name=name,
        env=env,
        digest=candidate.digest,
        version=candidate.version,
        percent=percent,
        live_digest=live.digest,
        live_version=live.version,
        pointer_version=live.pointer_version,
        steps=steps,
        step_time=step_time,
    )


def _update(storage: Storage, index: Index, name: str, env: str, candidate: BundleRow | CanaryRow, percent: int) -> PointerUpdate:
    stored = _stored_canary(storage, index, name, env)
    value = CanaryValue(name, env, candidate.digest, candidate.version, percent, index.head().seq + 1)
    return PointerUpdate(value.storage_name, stored.token if stored else None, value.encode())


def start_canary(
    storage: Storage,
    bundle: BundleRow,
    env: str,
    percent: int,
    actor: Acting,
    reason: str | None = None,
    *,
    steps: list[int] | None = None,
    step_time: str | timedelta | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> CanaryResult:
    """Serve `bundle` to `percent`% of ENV's routed requests beside what is live, if it passes ENV's gate.

    `steps` (ending at 100) are the shares the guard moves it through, each lasting at least `step_time`
    (a timedelta, or as --step-time writes it: 30m, 1h, 2d; default 1h)."""
    chosen = canary_steps(percent, steps)
    if isinstance(step_time, str):
        step_time = duration_option(step_time, "--step-time")
    seconds = int((step_time if step_time is not None else DEFAULT_STEP_TIME).total_seconds())
    require_compatible_row(storage, bundle, "promotion")
    seen: dict[str, CanaryResult] = {}

    def plan(index: Index) -> Planned | None:
        name = bundle.name
        live = index.pointer(name, env)
        if live is None:
            raise Refused(
                f"nothing of {name} is live in {env}, so there is nothing to run a canary beside",
                f"promote it without --canary: `bundlectl promote {name}@{bundle.version} --env {env}`",
            )
        if live.digest == bundle.digest:
            raise Refused(f"{name}@{bundle.version} is already live in {env}; a canary needs another bundle")
        running = canary_in_force(index, name, env)
        if running is not None and running.digest != bundle.digest:
            refuse_during_canary(index, name, env, f"a canary of {bundle.version}")
        refuse_while_paused(index, name, env)
        promoter = recorded_actor(index, "canary", {"env": env}, actor)  # refused here if `actor` may not move env
        gate = evaluate_gate(index, bundle, env, promoter, now or now_utc())
        if not gate.passed:
            raise GateRefused(gate)
        seen["result"] = CanaryResult(name, env, "canary", bundle.version, bundle.digest, percent, live, running, None, dry_run, gate)
        if running is not None or dry_run:  # already its canary: nothing to do
            if running is not None:
                seen["result"] = seen["result"]._replace(percent=running.percent)
            return None
        data = _data(name, env, bundle, percent, live, chosen, seconds)
        data["gate"] = GateRecord(passed=True, checks=[c.name for c in gate.checks], evidence=gate.evidence)
        return Planned("canary", data, [_update(storage, index, name, env, bundle, percent)])

    event = append(storage, plan, actor, reason)
    return seen["result"]._replace(seq=event.seq if event else None)


def advance_canary(
    storage: Storage, name: str, env: str, step_seq: int, percent: int, actor: Acting, reason: str | None = None, guard: dict[str, Any] | None = None
) -> CanaryResult:
    """Move the canary whose current step is the record `step_seq` to `percent`; a conflict if it moved since."""
    seen: dict[str, CanaryResult] = {}

    def plan(index: Index) -> Planned | None:
        running, live = _expect(index, name, env, step_seq)
        refuse_while_paused(index, name, env, step_seq)
        if percent <= running.percent or percent >= 100:
            raise UsageProblem(f"a canary at {running.percent}% advances to a larger share below 100, not {percent}%")
        seen["result"] = CanaryResult(name, env, "canary-advance", running.version, running.digest, percent, live, running, None, False)
        data = _data(name, env, running, percent, live, running.steps, running.data["step_time"])
        if guard is not None:
            data["guard"] = guard
        return Planned("canary-advance", data, [_update(storage, index, name, env, running, percent)])

    event = append(storage, plan, actor, reason)
    return seen["result"]._replace(seq=event.seq if event else None)


def end_canary(
    storage: Storage,
    name: str,
    env: str,
    actor: Acting,
    reason: str | None = None,
    *,
    dry_run: bool = False,
    step_seq: int | None = None,
    guard: dict[str, Any] | None = None,
) -> CanaryResult:
    """Stop serving the candidate (`canary-rollback`): what is live stays live. Allowed while paused."""
    seen: dict[str, CanaryResult] = {}

    def plan(index: Index) -> Planned | None:
        running, live = _expect(index, name, env, step_seq)
        seen["result"] = CanaryResult(name, env, "canary-rollback", running.version, running.digest, 0, live, running, None, dry_run)
        if dry_run:
            return None
        data = _data(name, env, running, 0, live, running.steps, running.data["step_time"])
        if guard is not None:
            data["guard"] = guard
        return Planned("canary-rollback", data, [_update(storage, index, name, env, running, 0)])

    event = append(storage, plan, actor, reason)
    return seen["result"]._replace(seq=event.seq if event else None)


def _expect(index: Index, name: str, env: str, step_seq: int | None) -> tuple[CanaryRow, PointerRow]:
    """The running canary (at step `step_seq`, when given) and what is live beside it."""
    running = canary_in_force(index, name, env)
    live = index.pointer(name, env)
    if step_seq is not None and (running is None or running.seq != step_seq):
        moved, _ = index.canary(name, env)
        what = f"event {moved.seq} by {moved.actor} at {moved.time}" if moved is not None else "its record is gone"
        raise Conflict(
            f"the canary of {name} in {env} moved or ended ({what}) while this command ran; nothing was changed",
            "run the guard again: it judges the step now in force",
        )
    if running is None or live is None:
        raise NotFound(
            f"no canary of {name} is running in {env}; nothing was changed",
            f"see `bundlectl status {name}` and `bundlectl history {name} --env {env}`",
        )
    return running, live


def end_running_canary(storage: Storage, name: str, env: str, actor: Acting, reason: str | None, dry_run: bool) -> CanaryResult | None:
    """A plain rollback during a canary ends it (what is live stays live); None when no canary runs."""
    running = canary_in_force(index_at_head(storage), name, env)
    if running is None:
        return None
    return end_canary(storage, name, env, actor, reason, dry_run=dry_run, step_seq=running.seq)


def completion(storage: Storage, index: Index, bundle: BundleRow, env: str, expect: int | None = None) -> tuple[MoveExtras, list[PointerUpdate]]:
    """What a promotion adds when a canary runs: it must be the candidate's, and it ends the canary in the same step.

    `expect`: the canary step the caller decided on (the guard); a conflict if the canary moved or ended since.
    """
    if expect is not None:
        _expect(index, bundle.name, env, expect)
    running = canary_in_force(index, bundle.name, env)
    if running is None:
        return MoveExtras(), []
    if running.digest != bundle.digest:
        refuse_during_canary(index, bundle.name, env, f"promoting {bundle.version}")
    return MoveExtras(canary_completed=running.seq), [_update(storage, index, bundle.name, env, bundle, 0)]
