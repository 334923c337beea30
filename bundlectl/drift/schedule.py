"""What `status` says of the drift and review schedules: missed, found drift, overdue, and the owner's authority."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from bundlectl.drift.authority import owner_authority, reviews_of
from bundlectl.foundation.clock import parse_time
from bundlectl.foundation.durations import parse_duration
from bundlectl.policy.in_force import EnvironmentPolicy
from bundlectl.registry.index import Index
from bundlectl.registry.rows import PointerRow


class Watch(NamedTuple):
    problems: list[str]  # each fails `status --check`
    owner_authority: list[int] | None  # the reviews that give the owner the authority to pull, if any


def watch_status(index: Index, environment: EnvironmentPolicy | None, pointer: PointerRow, now: datetime) -> Watch:
    problems = []
    if environment is not None and environment.drift is not None:
        runs = [r for r in index.watches(pointer.name, pointer.env, "drift", limit=64) if r.data["digest"] == pointer.digest]
        last = runs[0] if runs else None
        since = parse_time(last.time if last else pointer.time)
        if now - since > parse_duration(environment.drift.every):
            what = f"the last drift run was at {last.time} (seq {last.seq})" if last else f"no drift run since it went live at {pointer.time}"
            problems.append(f"drift: missed schedule: {what}, and the policy wants one every {environment.drift.every}")
        if last is not None and last.data["decision"] == "drift":
            problems.append(f"drift: drift run {last.seq} at {last.time} found drift (action: {last.data['action']})")
    if environment is not None and environment.review is not None:
        reviews = reviews_of(index, pointer)
        since = parse_time(reviews[0].time if reviews else pointer.time)
        if now - since > parse_duration(environment.review.every):
            what = f"the last review was at {reviews[0].time}" if reviews else f"no review since it went live at {pointer.time}"
            problems.append(f"review: overdue: {what}, and the policy wants one every {environment.review.every}")
    return Watch(problems, owner_authority(index, pointer))
