"""Reading the registry: the local read index brought up to the backend's log head before any answer.

Read commands need only this and the index, never the writer's machinery in `registry/log.py`. A
read writes to the index only when it is behind the log; where it cannot be written at all (a
read-only checkout, a full disk), the read builds a private index in memory instead.
"""

from __future__ import annotations

from bundlectl.errors import Conflict, IntegrityFailure, NotFound
from bundlectl.registry.events import parse_event
from bundlectl.registry.index import Index, IndexUnwritable
from bundlectl.storage.base import Storage

MAX_ATTEMPTS = 50  # reads and writes retry this often while other writers keep moving the log


def fresh_index(storage: Storage, allow_empty: bool = False) -> Index:
    """The read index brought up to the backend's current log head."""
    try:
        return _caught_up(Index.open(storage.index_path()), storage, allow_empty)
    except IndexUnwritable:
        return _caught_up(Index.in_memory(), storage, allow_empty)


def _caught_up(index: Index, storage: Storage, allow_empty: bool) -> Index:
    for _ in range(MAX_ATTEMPTS):
        head = storage.log_head()
        if head is None and allow_empty:
            if index.head().id is not None:
                index.reset()
            return index
        if head is None:
            raise NotFound(
                f"no bundlectl registry in {storage.url}",
                "run `bundlectl init` (or pass --registry / set BUNDLECTL_REGISTRY)",
            )
        known = index.head()
        if known.id == head:
            return index
        stored = storage.events_after(known.id, head)
        if not stored and storage.log_head() != head:
            continue  # another process moved the shared index past the head we read: read it again
        if stored == []:
            raise IntegrityFailure(
                f"the registry log head {head[:12]} is not a record after seq {known.seq} ({str(known.id)[:12]}), "
                "though nothing else is writing",
                "run `bundlectl verify`; the log ref was changed outside bundlectl",
            )
        if stored is None:
            raise IntegrityFailure(
                f"the registry log was rewritten: the head this machine last saw (seq {known.seq}, {known.id}) "
                "is no longer in its history",
                f"run `bundlectl verify`; if the registry was replaced on purpose, delete {storage.index_path()} and retry",
            )
        index.apply([parse_event(s) for s in stored], head, known)
    raise Conflict(
        f"the registry log kept moving while this command read it ({MAX_ATTEMPTS} attempts); nothing was changed",
        "retry when the registry is less busy",
    )
