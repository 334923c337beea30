"""Provenance of an eval report: `run` when bundlectl ran the harness and measured it, else `attached`.

A run's time is the time bundlectl measured; an attached report's run time is a claim of the file.
"""

from __future__ import annotations

from datetime import datetime

from bundlectl.clock import rfc3339
from bundlectl.registry.events import Provenance

RUN, ATTACHED = "run", "attached"
MODES = (RUN, ATTACHED)


def attached(run_id: str | None = None, tool: str | None = None) -> Provenance:
    provenance = Provenance(mode=ATTACHED)
    if run_id:
        provenance["run_id"] = run_id
    if tool:
        provenance["tool"] = tool
    return provenance


def measured_run(command: list[str], exit_status: int, started: datetime, ended: datetime, host: str,
                 tool_version: str | None) -> Provenance:
    """What bundlectl itself measured of a run (the report's own claims are added when it is bound)."""
    provenance = Provenance(mode=RUN, command=command, exit_status=exit_status, started_at=rfc3339(started),
                            ended_at=rfc3339(ended), host=host)
    if tool_version:
        provenance["tool_version"] = tool_version
    return provenance
