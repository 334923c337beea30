"""Run times in reports: parsed strictly, always timezone-aware, never trusted from the future."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CLOCK_SKEW = timedelta(minutes=5)


def parse_run_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:  # a run time without a zone cannot be compared honestly
        return None
    return moment.astimezone(timezone.utc)
