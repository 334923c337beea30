"""`registry copy SRC DST`: move a registry between backends without losing history.

Events are replayed byte for byte (same seq, same prev hashes, same signatures), the objects they
reference are copied first, and pointers are rebuilt from the moves and pauses (and the head pointer,
once trust is set); so `verify` passes on both sides. Copying
again only adds what DST lacks, and refuses if DST's history is not a prefix of SRC's.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bundlectl.errors import DigestMismatch, NotFound, Refused
from bundlectl.registry.events import Event, parse_event, summary_line
from bundlectl.registry.objects import blob_key, digest_in_key
from bundlectl.registry.pointers import pointers_written_by
from bundlectl.registry.signatures import head_update
from bundlectl.storage.base import FileToStore, PointerUpdate, Storage


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
            raise DigestMismatch(f"object {key} in {source.url} does not match its digest; nothing more was copied",
                                   f"run `bundlectl verify --registry {source.url}`")
        target.put_files({key: FileToStore(spool, digest_in_key(key))})


def copy_registry(source: Storage, target: Storage, progress: Callable[[str], None] | None = None) -> CopyResult:
    head = source.log_head()
    if head is None:
        raise NotFound(f"no bundlectl registry in {source.url}")
    events = [parse_event(e) for e in source.events_after(None, head) or []]
    target.initialize()
    target_head = target.log_head()
    existing = [parse_event(e) for e in target.events_after(None, target_head) or []] if target_head else []
    if [e.record() for e in existing] != [e.record() for e in events[:len(existing)]]:
        raise Refused(f"{target.url} holds a different history than {source.url}; nothing was copied",
                      "copy into an empty registry, or into an earlier copy of this one")
    copied_objects = 0
    current = target_head
    trusted = any(e.action == "trust" for e in existing)
    for event in events[len(existing):]:
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
    return CopyResult(len(events) - len(existing), copied_objects, len(existing))
