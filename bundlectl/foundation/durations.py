"""Durations as policies write them: 30m, 12h, 7d, 2w."""

from __future__ import annotations

import re
from datetime import timedelta

from bundlectl.errors import UsageProblem

# ASCII digits only (`\d` would take "٧d"), at most six of them (999999w still fits a timedelta);
# the policy's JSON Schema carries this same pattern.
DURATION_PATTERN = r"^[0-9]{1,6}[mhdw]$"
_DURATION = re.compile(DURATION_PATTERN, re.ASCII)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a duration; write whole minutes, hours, days or weeks: 30m, 12h, 7d or 2w")
    return timedelta(**{_UNITS[text[-1]]: int(text[:-1])})


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def duration_option(text: str | None, option: str) -> timedelta | None:
    """A duration given on the command line as `option` (0 and 0s mean none); UsageProblem naming the option if malformed."""
    if text is None:
        return None
    if text.strip() in ("0", "0s"):
        return parse_duration("0m")
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageProblem(f"{option} {text}: {exc}") from None
