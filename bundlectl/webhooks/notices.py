"""Decisions that write no record but must be heard: a guard decision not applied, a promotion the gate refused.

They are delivered directly, once, within the post-write deadline (the log cannot be their outbox: they are
not in it). A decision that must not be missed is applied (`guard --apply`), which logs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bundlectl.errors import BundlectlError
from bundlectl.registry.signatures import checked_index
from bundlectl.webhooks.hook import deliver_notice
from bundlectl.webhooks.payload import notice
from bundlectl.webhooks.subscriptions import subscriptions_in_force
from bundlectl.webhooks.types import GUARD_DECIDED, PROMOTION_REFUSED

if TYPE_CHECKING:
    from bundlectl.gate.result import GateResult
    from bundlectl.storage.base import Storage
    from bundlectl.webhooks.state import Attempt
    from bundlectl.workflows.guard import GuardReport


def notify_guard(storage: Storage, report: GuardReport, actor: Callable[[], str]) -> list[Attempt]:
    """The guard decided (not hold) but did not apply it: tell the endpoints that want guard.decided.

    Best effort: the guard's judgement and exit code stand whatever happens here (`webhooks log` shows it).
    """
    if report.applied is not None or report.judgement.decision == "hold":
        return []
    try:
        return _notify_guard(storage, report, actor)
    except BundlectlError:
        return []


def _notify_guard(storage: Storage, report: GuardReport, actor: Callable[[], str]) -> list[Attempt]:
    index = checked_index(storage)
    if not subscriptions_in_force(index).endpoints:
        return []
    judged = report.canary or report.live
    bundle = {
        "name": report.name,
        "version": judged.version,
        "digest": judged.digest,
        "env": report.env,
        "previous": {"version": report.live.version, "digest": report.live.digest} if report.canary else None,
    }
    message = notice(
        GUARD_DECIDED,
        storage.url,
        actor(),
        report.judgement.reason,
        bundle,
        {"gate": None, "guard": report.to_json(), "decision": report.judgement.decision, "applied": False},
    )
    return deliver_notice(storage, index, message)


def notify_refused(storage: Storage, result: GateResult, actor: Callable[[], str], reason: str | None) -> list[Attempt]:
    """The gate refused a promotion that asked to notify (`promote --notify`); best effort, like notify_guard."""
    try:
        return _notify_refused(storage, result, actor, reason)
    except BundlectlError:
        return []


def _notify_refused(storage: Storage, result: GateResult, actor: Callable[[], str], reason: str | None) -> list[Attempt]:
    index = checked_index(storage)
    if not subscriptions_in_force(index).endpoints:
        return []
    bundle = {"name": result.name, "version": result.version, "digest": result.digest, "env": result.env, "previous": None}
    message = notice(PROMOTION_REFUSED, storage.url, actor(), reason, bundle, {"gate": result.to_json(), "guard": None})
    return deliver_notice(storage, index, message)
