"""What `status` says of the drift and review schedules: missed, found drift, overdue, and the owner's authority."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from bundlectl.drift.authority import owner_authority, reviews_of
from bundlectl.foundation.clock import parse_time, rfc3339
from bundlectl.foundation.durations import parse_duration
from bundlectl.integrity.skew import SKEWED
from bundlectl.policy.in_force import EnvironmentPolicy
from bundlectl.registry.index import Index
from bundlectl.registry.rows import PointerRow, WatchRow


class Watch(NamedTuple):
    problems: list[str]  # each fails `status --check`
    owner_authority: list[int] | None  # the reviews that give the owner the authority to pull, if any


def _dated(rows: list[WatchRow], now: datetime, problems: list[str]) -> list[WatchRow]:
    """The rows a schedule may count: one dated ahead of this machine (a wrong clock, or a writer keeping the schedule
    quiet) counts once a record follows it (the index caps its time), but while it is the newest it would hold the
    schedule for as long as it is ahead; it is named instead, and the schedule counts from the one before."""
    ahead = [r for r in rows if parse_time(r.time) - now > SKEWED]
    problems.extend(
        f"{r.action}: seq {r.seq} is dated {r.time}, ahead of this machine; it does not count toward the schedule until a later record follows it"
        for r in ahead
    )
    return [r for r in rows if r not in ahead]


def _ran_at(index: Index, record: WatchRow) -> datetime:
    """When the drift run a record names ran: a record signed days after its run keeps the schedule no fresher than
    the run (readers checked the run is the live bundle's, since it went live; its time is capped by its record's)."""
    run = index.evidence_by_seq([record.data["run"]])
    moment = parse_time(record.time)
    return min(moment, parse_time(run[0].run_at)) if run else moment


def watch_status(index: Index, environment: EnvironmentPolicy | None, pointer: PointerRow, now: datetime) -> Watch:
    problems: list[str] = []
    if environment is not None and environment.drift is not None:
        runs = [r for r in index.watches(pointer.name, pointer.env, "drift", limit=64) if r.data["digest"] == pointer.digest]
        runs = _dated(runs, now, problems)
        last = runs[0] if runs else None
        since = _ran_at(index, last) if last else parse_time(pointer.time)
        if now - since > parse_duration(environment.drift.every):
            what = f"the last drift run was at {rfc3339(since)} (seq {last.seq})" if last else f"no drift run since it went live at {pointer.time}"
            problems.append(f"drift: missed schedule: {what}, and the policy wants one every {environment.drift.every}")
        if last is not None and last.data["decision"] == "drift":
            problems.append(f"drift: drift run {last.seq} at {last.time} found drift (action: {last.data['action']})")
    if environment is not None and environment.review is not None:
        reviews = _dated(reviews_of(index, pointer), now, problems)
        since = parse_time(reviews[0].time if reviews else pointer.time)
        if now - since > parse_duration(environment.review.every):
            what = f"the last review was at {reviews[0].time}" if reviews else f"no review since it went live at {pointer.time}"
            problems.append(f"review: overdue: {what}, and the policy wants one every {environment.review.every}")
    return Watch(problems, owner_authority(index, pointer))
