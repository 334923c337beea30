"""Test-only fault injection: BUNDLECTL_FAULT=<checkpoint> kills the process there with SIGKILL.

The checkpoints sit between the write steps of every mutating command, so tests can prove that a
process killed at any point leaves the registry as it was before or as it is after.
"""

from __future__ import annotations

import os
import signal

OBJECTS_STORED = "objects-stored"  # files or reports are stored, no event yet
EVENT_WRITTEN = "event-written"  # the event object exists, the log head has not moved
PUSHED = "pushed"  # remote registries: the push landed, this machine's mirror does not show it yet
LOG_MOVED = "log-moved"  # the log head and pointers moved, the local index is not updated yet
CHECKPOINTS = (OBJECTS_STORED, EVENT_WRITTEN, PUSHED, LOG_MOVED)


def checkpoint(name: str) -> None:
    if os.environ.get("BUNDLECTL_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
