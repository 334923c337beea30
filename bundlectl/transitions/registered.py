"""The one question every rule asks first: is this name@version registered, with this digest, before the record?"""

from __future__ import annotations

from bundlectl.registry.index import Index
from bundlectl.registry.rows import BundleRow


def registered_bundle(index: Index, name: str, version: str, digest: str) -> BundleRow | None:
    """The bundle row, when the log before the record registered `name@version` with exactly `digest`."""
    row = index.bundle(name, version)
    return row if row is not None and row.digest == digest else None


def unregistered(name: str, version: str, digest: str) -> str:
    return f"{name}@{version} ({digest[:19]}…) is not registered with that digest in the log before it"
