"""The event types webhooks carry: one per logged action, and the two notices no record stands for."""

from __future__ import annotations

TYPE_OF_ACTION: dict[str, str] = {
    "init": "registry.initialized",
    "policy": "policy.set",
    "trust": "trust.set",
    "webhooks": "webhooks.set",
    "register": "bundle.registered",
    "evidence": "evidence.added",
    "approval": "bundle.approved",
    "promote": "bundle.promoted",
    "rollback": "bundle.rolled_back",
    "pause": "bundle.paused",
    "resume": "bundle.resumed",
    "canary": "canary.started",
    "canary-advance": "canary.advanced",
    "canary-rollback": "canary.rolled_back",
}
GUARD_DECIDED = "guard.decided"  # a guard decision other than hold: logged when applied, else a notice
PROMOTION_REFUSED = "promotion.refused"  # a notice: the gate refused a promotion that asked to notify (--notify)
NOTICE_TYPES = (GUARD_DECIDED, PROMOTION_REFUSED)
ALL_TYPES = (*TYPE_OF_ACTION.values(), *NOTICE_TYPES)
LINK_FIELDS = ("name", "version", "digest", "env", "seq", "type")


def is_event_pattern(pattern: str) -> bool:
    """`*`, a type, or a family (`canary.*`) some type belongs to."""
    return pattern == "*" or pattern in ALL_TYPES or (pattern.endswith(".*") and any(t.startswith(pattern[:-1]) for t in ALL_TYPES))


def matches(patterns: list[str] | tuple[str, ...], event_type: str, by_guard: bool) -> bool:
    """Whether an endpoint subscribed to `patterns` gets this event; an act the guard made counts as guard.decided too."""
    types = (event_type, GUARD_DECIDED) if by_guard else (event_type,)
    return any(p == "*" or p in types or (p.endswith(".*") and any(t.startswith(p[:-1]) for t in types)) for p in patterns)
