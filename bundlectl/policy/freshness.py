"""The freshness rule, in one place: evidence counts while its run is no older than the policy's max_age."""

from __future__ import annotations

from datetime import datetime, timedelta

from bundlectl.foundation.clock import parse_time
from bundlectl.foundation.durations import parse_duration


def run_age(run_at: str, now: datetime) -> timedelta:
    return now - parse_time(run_at)


def is_fresh(run_at: str, max_age: str, now: datetime) -> bool:
    return run_age(run_at, now) <= parse_duration(max_age)
