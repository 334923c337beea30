"""Run times in reports: parsed strictly, always timezone-aware, never trusted from the future."""

from __future__ import annotations

from datetime import datetime, timedelta

from bundlectl.foundation.clock import parse_time

CLOCK_SKEW = timedelta(minutes=5)
_DATE_ONLY = len("2026-11-01")


def parse_run_time(value: object) -> datetime | None:
    """The report's run time, or None when it has none that can be compared honestly (no zone, a bare date)."""
    if not isinstance(value, str) or len(value.strip()) <= _DATE_ONLY:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None
