"""An approval names a bundle registered before it: a signed approval of anything else counts nowhere."""

from __future__ import annotations

from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.storage.base import Storage
from bundlectl.transitions.failures import UnregisteredApproval
from bundlectl.transitions.registered import registered_bundle, unregistered


def check_approval(index: Index, storage: Storage, event: Event) -> None:
    approval = event.approval()
    if registered_bundle(index, approval["name"], approval["version"], approval["digest"]) is None:
        raise UnregisteredApproval(event, "approves " + unregistered(approval["name"], approval["version"], approval["digest"]))
