"""Who is acting: --actor, else BUNDLECTL_ACTOR, else git's user.email, else the login name."""

from __future__ import annotations

import getpass
import os
import subprocess


def acting_identity(explicit: str | None) -> str:
    if explicit:
        return explicit
    from_env = os.environ.get("BUNDLECTL_ACTOR")
    if from_env:
        return from_env
    try:
        email = subprocess.run(
            ["git", "config", "user.email"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        email = ""
    if email:
        return email
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
