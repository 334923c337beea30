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


# Acts that stop harm: a record dated a few hours ahead (a wrong clock, or any key holder's on purpose) must never
# hold them back until that hour; they are stamped with this machine's time and readers cap the record before it.
URGENT = frozenset({"pause", "rollback", "canary-rollback"})


def append_time(storage: TimedStorage, index: TimedLog, action: str = "") -> str:
    """This machine's time for a new record; Refused (nothing written) when its clock is off by more than a bound.

    Never earlier than the record before it when the two are close (audit --at reads the log by time); but a
    record dated more than SKEWED ahead is not followed: its writer's clock was wrong, and copying its time
    onto every later record would stall canaries and keep evidence fresh (readers cap its time instead). A record
    less far ahead is passed over too where the backend's clock shows it is the skewed one, and always by the acts
    that stop harm (URGENT): any key holder could otherwise hold back every pause and rollback for up to a day.
    """
    moment = now()
    server = storage.trusted_time()
    if server is not None:
        ahead = moment - server
        if ahead > AHEAD_BOUND:
            raise Refused(
                f"this machine's clock is {span(ahead)} ahead of the registry's ({server:%Y-%m-%dT%H:%M:%SZ} by its "
                "Date header); nothing was written",
                "set this machine's clock right (NTP) and run the command again",
            )
    last = index.last_time()
    if last is None:
        return event_time(moment)
    behind = parse_time(last) - moment
    if behind > SKEWED or (behind > BEHIND_BOUND and (action in URGENT or _ahead_of_server(last, moment, server))):
        return event_time(moment)
    if behind > BEHIND_BOUND:
        raise Refused(
            f"this machine's clock is {span(behind)} behind the newest record of the log ({last}); nothing was written",
            "set this machine's clock right (NTP); a record a day or more ahead is the skewed one "
            "instead and is passed over (see `bundlectl verify`)",
        )
    return max(event_time(moment), last)


def _ahead_of_server(last: str, moment: datetime, server: datetime | None) -> bool:
    """Whether the backend's own clock says the newest record is the skewed one: it is ahead of that clock by more
    than the bound, while this machine agrees with it (it was checked above not to be ahead; here, not behind)."""
    return server is not None and parse_time(last) - server > BEHIND_BOUND and server - moment <= AHEAD_BOUND
