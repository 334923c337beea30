"""What the runtime raises. Every one is a BundlectlError (`message`, `hint`), and all are exported by bundlectl.runtime."""

from __future__ import annotations

from bundlectl.errors import BundlectlError, NotFound


class RegistryUnavailable(BundlectlError):
    """Start-up found nothing verified to serve: the registry did not answer in time and no usable cache was kept."""


class Paused(BundlectlError):
    """The environment is paused (the kill switch): serving code takes its fallback path. Says who, when and why."""

    def __init__(self, name: str, env: str, reason: str | None, by: str, since: str) -> None:
        super().__init__(
            f"{name} in {env} is paused (by {by} at {since}): {reason}",
            f"take the fallback path; `bundlectl resume {name} --env {env}` ends the pause",
        )
        self.name, self.env, self.reason, self.by, self.since = name, env, reason, by, since


class FileNotInBundle(NotFound):
    """`file()` of a path that is none of the live bundle's component files."""
