"""`registry copy SRC DST`: move a registry between backends without losing history.

Events are replayed byte for byte (same seq, same prev hashes), the objects they reference are
copied first, and pointers are rebuilt from the moves and pauses; so `verify` passes on both sides. Copying
again only adds what DST lacks, and refuses if DST's history is not a prefix of SRC's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bundlectl.errors import NotFound, Refused
from bundlectl.registry.events import Event, parse_event, summary_line
from bundlectl.registry.objects import blob_key
from bundlectl.registry.pointers import pointers_written_by
from bundlectl.storage.base import PointerUpdate, Storage


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


def copy_registry(source: Storage, target: Storage, progress: Callable[[str], None] | None = None) -> CopyResult:
    head = source.log_head()
    if head is None:
        raise NotFound(f"no bundlectl registry in {source.url}")
    events = [parse_event(e) for e in source.events_after(None, head) or []]
    target.initialize()
    target_head = target.log_head()
    existing = [parse_event(e) for e in target.events_after(None, target_head) or []] if target_head else []
    if [e.payload() for e in existing] != [e.payload() for e in events[:len(existing)]]:
        raise Refused(f"{target.url} holds a different history than {source.url}; nothing was copied",
                      "copy into an empty registry, or into an earlier copy of this one")
    copied_objects = 0
    current = target_head
    for event in events[len(existing):]:
        for key in referenced_objects(event):
            if not target.has_object(key):
                target.put_object(key, source.get_object(key))
                copied_objects += 1
        updates = []
        for moved in pointers_written_by(event):
            pointer = target.read_pointer(moved.storage_name)
            updates.append(PointerUpdate(moved.storage_name, pointer.token if pointer else None, moved.encode()))
        current = target.append_event(event.payload(), summary_line(event), current, updates)
        if progress is not None:
            progress(f"{event.seq}/{len(events)} {event.action}")
    return CopyResult(len(events) - len(existing), copied_objects, len(existing))
