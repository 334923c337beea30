"""What every command needs from its surroundings: the storage for --registry and the acting identity."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def storage_for(registry: str | None, create: bool = False) -> Any:
    import click

    from bundlectl.storage.locate import open_storage, registry_url

    context = click.get_current_context(silent=True)
    endpoint = context.meta.get("bundlectl.endpoint_url") if context else None
    return open_storage(registry_url(registry), Path.cwd(), create=create, endpoint_url=endpoint)


def actor_for(explicit: str | None) -> str:
    from bundlectl.identity import acting_identity

    return acting_identity(explicit)
