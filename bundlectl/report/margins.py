"""How far each gate check is from its threshold: positive is headroom, negative is by how much it fails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bundlectl.foundation.durations import format_duration
from bundlectl.gate.result import Check

# checks whose threshold is a ceiling (the value must stay at or below it); the others' thresholds are floors
CEILINGS = ("eval.fresh", "regression", "latency.", "cost.", "rehearsal")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) if isinstance(value, (int, float)) else None


def margin(check: Check) -> float | None:
    """Headroom in the check's own unit (seconds for ages); None when the check has no numeric threshold."""
    value, threshold = check.value, check.threshold
    if isinstance(value, dict) and isinstance(threshold, dict):  # a slice: its pass rate against the slice's floor
        value, threshold = value.get("pass_rate"), threshold.get("min_pass_rate")
    got, limit = _number(value), _number(threshold)
    if got is None or limit is None:
        return None
    return round(limit - got if check.name.startswith(CEILINGS) else got - limit, 6)


def describe_margin(check: Check) -> str:
    found = margin(check)
    if found is None:
        return "–"
    if isinstance(check.value, timedelta) or isinstance(check.threshold, timedelta):
        text = format_duration(timedelta(seconds=abs(found)))
        return f"{text} to spare" if found >= 0 else f"{text} over"
    return f"{found:+g}"
