"""`registry copy SRC DST`: a sandbox copy to try things in, or (`--migrate`) the registry moved to another backend.

Events are replayed byte for byte (same seq, same prev hashes, same signatures), the objects they
reference are copied first, and pointers are rebuilt from the moves and pauses (and the head pointer,
once trust is set); so `verify` passes on both sides.

A sandbox copy (the default) goes into an empty registry and ends with a `registry` record giving it an id
of its own (integrity/registry_id.py): what is signed there names that id and never counts in SRC, and SRC
refuses the copy back. A migration keeps the id: DST becomes the registry, and SRC is retired by a last
record after which it takes no writes. Copying again resumes a migration, adding only what DST lacks.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from bundlectl.errors import Conflict, DigestMismatch, NotFound, Refused
from bundlectl.foundation.clock import event_time
from bundlectl.integrity.registry_id import Identity, NotThisRegistry, identity_after, new_registry_id
from bundlectl.registry.events import CopyOf, Event, RegistryData, parse_event, summary_line
from bundlectl.registry.log import IDENTITY_ACTOR
from bundlectl.registry.objects import blob_key, digest_in_key
from bundlectl.registry.pointers import HEAD_POINTER, pointers_written_by
from bundlectl.registry.signatures import head_update
from bundlectl.storage.base import FileToStore, LogMoved, PointerMoved, PointerUpdate, Storage
from bundlectl.storage.locate import open_storage


@dataclass(frozen=True)
class CopyResult:
    events: int
    objects: int
    already: int


def referenced_objects(event: Event) -> list[str]:
    keys = []
    record = event.registered_record()
    if record is not None:
        for component in record["components"].values():
            keys += [blob_key(f["digest"]) for f in component.get("files", {}).values()]
    if event.action == "evidence":
        keys.append(event.evidence()["report_key"])
    return keys


def copy_object(source: Storage, target: Storage, key: str) -> None:
    """One object from registry to registry in bounded memory: spooled through a temporary file.

    A source object that does not hash to the digest its key names is refused, never copied.
    """
    with tempfile.TemporaryDirectory(prefix="bundlectl-copy-") as folder:
        spool = Path(folder) / "object"
        hasher = hashlib.sha256()
        with source.open_object(key) as chunks, open(spool, "wb") as handle:
            for chunk in chunks:
                hasher.update(chunk)
                handle.write(chunk)
        if hasher.hexdigest() != digest_in_key(key):
            raise DigestMismatch(
                f"object {key} in {source.url} does not match its digest; nothing more was copied", f"run `bundlectl verify --registry {source.url}`"
            )
        target.put_files({key: FileToStore(spool, digest_in_key(key))})


class RegistryCopied(NamedTuple):
    source_url: str
    target_url: str
    result: CopyResult
    migrated: bool = False


def copy_registry_at(source: str, target: str, cwd: Path, *, endpoint_url: str | None = None, migrate: bool = False) -> RegistryCopied:
    """`registry copy SOURCE TARGET`: both opened (a git TARGET is created if missing; a bucket never is), read as
    they are now, then copied."""
    src = open_storage(source, cwd, endpoint_url=endpoint_url)
    dst = open_storage(target, cwd, create=True, endpoint_url=endpoint_url)
    src.refresh()
    dst.refresh()
    return RegistryCopied(src.url, dst.url, copy_registry(src, dst, migrate=migrate), migrate)


def copy_registry(source: Storage, target: Storage, progress: Callable[[str], None] | None = None, *, migrate: bool = False) -> CopyResult:
    head = source.log_head()
    if head is None:
        raise NotFound(f"no bundlectl registry in {source.url}")
    events = [parse_event(e) for e in source.events_after(None, head) or []]
    identities = identities_of(events)
    retired = identities[-1].retired_to is not None
    if retired:  # a migration copied again: its retirement stays in the source
        events, identities = events[:-1], identities[:-1]
    target.initialize()
    target_head = target.log_head()
    existing = [parse_event(e) for e in target.events_after(None, target_head) or []] if target_head else []
    if existing and not migrate:
        raise Refused(
            f"{target.url} is not empty; a sandbox copy goes into an empty registry; nothing was copied",
            "give an empty TARGET, or --migrate to resume moving this registry there",
        )
    if [e.record() for e in existing] != [e.record() for e in events[: len(existing)]]:
        raise Refused(
            f"{target.url} holds a different history than {source.url}; nothing was copied",
            "copy into an empty registry, or into an earlier copy of this one",
        )
    if existing and identities[len(existing) - 1] != identities[-1]:
        raise Refused(
            f"{source.url} is {identities[-1].describe()}; {target.url} is "
            f"{identities[len(existing) - 1].describe()}: acts made in a sandbox copy never count in the "
            "registry it copies; nothing was copied",
            "redo those acts in the registry itself",
        )
    copied, target_head = _replay(source, target, events, existing, progress)
    if migrate and not retired:
        _retire(source, target.url, events[-1], identities[-1])
    elif not migrate:
        _name_sandbox(target, events[-1]._replace(id=target_head), identities[-1], source.url)
    return copied


def identities_of(events: list[Event]) -> list[Identity]:
    """The registry the log is after each record: tampering here is `verify`'s to name, so copy follows what it can."""
    identity, found = Identity(), []
    for event in events:
        try:
            identity = identity_after(identity, event.seq, event.prev, event.action, event.data, event.registry)
        except NotThisRegistry:
            pass
        found.append(identity)
    return found


def _name_sandbox(target: Storage, last: Event, identity: Identity, source_url: str) -> None:
    """The sandbox's own id, in a record after everything copied: from here on its acts are signed for it."""
    data = RegistryData(registry=new_registry_id(), copy_of=CopyOf(registry=identity.registry, seq=last.seq, hash=last.hash))
    _append_identity(target, last, data, f"sandbox copy of {source_url}")


def _retire(source: Storage, target_url: str, last: Event, identity: Identity) -> None:
    """The source's last record once migrated: writers refuse it from here on (registry/log.py)."""
    if identity.registry is None:
        raise Refused(
            f"{source.url} has not logged an id yet (a registry made before ids); it was copied but not retired",
            f"write once to {source.url} with this version under trust (it logs the id), then migrate again",
        )
    _append_identity(source, last, RegistryData(registry=identity.registry, retired_to=target_url), f"migrated to {target_url}")


def _append_identity(storage: Storage, last: Event, data: RegistryData, reason: str) -> None:
    event = Event.new(last.seq + 1, last.hash, event_time(), IDENTITY_ACTOR, "registry", reason, dict(data), registry=data["registry"])
    updates = [head_update(storage, event)] if storage.read_pointer(HEAD_POINTER) is not None else []
    try:
        storage.append_event(event.record(), summary_line(event), last.id, updates, author=IDENTITY_ACTOR)
    except (LogMoved, PointerMoved):
        raise Conflict(
            f"{storage.url} was written to while it was copied; the copy is complete but not {'retired' if data.get('retired_to') else 'named'}",
            "run the copy again",
        ) from None


def _replay(
    source: Storage, target: Storage, events: list[Event], existing: list[Event], progress: Callable[[str], None] | None
) -> tuple[CopyResult, str | None]:
    target_head = existing[-1].id if existing else None
    copied_objects = 0
    current = target_head
    trusted = any(e.action == "trust" for e in existing)
    for event in events[len(existing) :]:
        trusted = trusted or event.action == "trust"
        for key in referenced_objects(event):
            if not target.has_object(key):
                copy_object(source, target, key)
                copied_objects += 1
        updates = []
        for moved in pointers_written_by(event):
            pointer = target.read_pointer(moved.storage_name)
            updates.append(PointerUpdate(moved.storage_name, pointer.token if pointer else None, moved.encode()))
        if trusted:
            updates.append(head_update(target, event))
        current = target.append_event(event.record(), summary_line(event), current, updates, author=event.actor)
        if progress is not None:
            progress(f"{event.seq}/{len(events)} {event.action}")
    return CopyResult(len(events) - len(existing), copied_objects, len(existing)), current
