"""Time as the registry records it: RFC 3339 UTC; event times to the microsecond, report run times to the second.

`parse_time` is the one RFC 3339 parser: policies, reports, request stamps and the index all use it.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_time(moment: datetime | None = None) -> str:
    """Event times: fixed-width microseconds, so string order is time order and a request stamped in
    the same second as a promotion is still on the right side of it."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (Z or offset; a date alone means its midnight UTC) as an aware datetime."""
    value = text.strip().replace("z", "Z")
    if len(value) == 10:
        value += "T00:00:00Z"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:  # Python's own words ("Invalid isoformat string") tell the user nothing
        raise ValueError(f"{text!r} is not an RFC 3339 time; write e.g. 2026-11-22T14:05:00Z, or a date: 2026-11-22") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add Z for UTC")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past datetime's range once in UTC
        raise ValueError(f"{text!r} is out of range") from None
