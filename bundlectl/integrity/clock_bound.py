"""The time a writer stamps on a record: its own clock, checked against the log head and, where the backend
has one, a trusted clock (S3's `Date` header); so one skewed machine can neither stall nor backdate the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from bundlectl.errors import Refused
from bundlectl.foundation.clock import event_time, parse_time
from bundlectl.foundation.durations import format_duration as span
from bundlectl.integrity.skew import SKEWED

BEHIND_BOUND = timedelta(minutes=5)  # a writer this far behind the newest record has a wrong clock, not drift
AHEAD_BOUND = timedelta(minutes=2)  # ahead of the backend's own clock (which has whole seconds) by more: wrong clock


class TimedLog(Protocol):
    def last_time(self) -> str | None: ...


class TimedStorage(Protocol):
    def trusted_time(self) -> datetime | None: ...


def now() -> datetime:
    return datetime.now(UTC)


def append_time(storage: TimedStorage, index: TimedLog) -> str:
    """This machine's time for a new record; Refused (nothing written) when its clock is off by more than a bound.

    Never earlier than the record before it when the two are close (audit --at reads the log by time); but a
    record dated more than SKEWED ahead is not followed: its writer's clock was wrong, and copying its time
    onto every later record would stall canaries and keep evidence fresh (readers cap its time instead).
    """
    moment = now()
    server = storage.trusted_time()
    if server is not None:
        ahead = moment - server
        if ahead > AHEAD_BOUND:
            raise Refused(f"this machine's clock is {span(ahead)} ahead of the registry's ({server:%Y-%m-%dT%H:%M:%SZ} by its "
                          "Date header); nothing was written", "set this machine's clock right (NTP) and run the command again")
    last = index.last_time()
    if last is None:
        return event_time(moment)
    behind = parse_time(last) - moment
    if behind > SKEWED:
        return event_time(moment)
    if behind > BEHIND_BOUND:
        raise Refused(f"this machine's clock is {span(behind)} behind the newest record of the log ({last}); nothing was "
                      "written", "set this machine's clock right (NTP); a record a day or more ahead is the skewed one "
                      "instead and is passed over (see `bundlectl verify`)")
    return max(event_time(moment), last)
