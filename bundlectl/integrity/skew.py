"""Records dated by a wrong clock: how readers count them, and how `verify` names them.

A record was appended after the records before it and before the ones after it, whatever its time says.
So readers count each record at most at the time of every record after it (the read index caps it when
a later record arrives): one record dated a year ahead cannot stall a canary step, hide a pause from
`audit --at` or keep evidence fresh once anything follows it. The log itself is append-only: `verify`
names such a record once, with what to do, and does not fail over it.
"""

from __future__ import annotations

from datetime import timedelta

from bundlectl.foundation.clock import now_utc, parse_time
from bundlectl.foundation.durations import format_duration

SKEWED = timedelta(days=1)  # clocks drift; a record a day ahead of the reader is not drift


def future_skew(time: str) -> str | None:
    """What `verify` says of a record dated more than SKEWED ahead of this machine; None for one that is not."""
    ahead = parse_time(time) - now_utc()
    if ahead <= SKEWED:
        return None
    return (
        f"is dated {time}, {format_duration(ahead)} ahead of this machine: its writer's clock was wrong. Readers count "
        "it at the time of the records after it, and writers do not copy its time; fix that machine's clock "
        "(the record itself stays: the log is append-only)"
    )


def capped_run_at(run_at: str, record_time: str) -> str:
    """A report's run time, never later than the record that added it: a runner's clock a year ahead does not
    keep its evidence fresh for a year."""
    recorded = parse_time(record_time)
    return run_at if parse_time(run_at) <= recorded else recorded.strftime("%Y-%m-%dT%H:%M:%SZ")
