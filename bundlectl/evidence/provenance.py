"""Provenance of an eval report: `run` when bundlectl ran the harness and measured it, else `attached`.

A run's time is the time bundlectl measured; an attached report's run time is a claim of the file.
"""

from __future__ import annotations

from datetime import datetime

from bundlectl.foundation.clock import rfc3339
from bundlectl.registry.events import Provenance

RUN, ATTACHED = "run", "attached"
MODES = (RUN, ATTACHED)


def attached() -> Provenance:
    return Provenance(mode=ATTACHED)


def measured_run(
    command: list[str], exit_status: int, started: datetime, ended: datetime, host: str, executable: tuple[str, str], tool_version: str | None
) -> Provenance:
    """What bundlectl itself measured of a run (the report's own claims are added when it is bound)."""
    provenance = Provenance(
        mode=RUN,
        command=command,
        exit_status=exit_status,
        started_at=rfc3339(started),
        ended_at=rfc3339(ended),
        host=host,
        executable=executable[0],
        executable_sha256=executable[1],
    )
    if tool_version:
        provenance["tool_version"] = tool_version
    return provenance
