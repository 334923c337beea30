"""Reading the registry: the local read index brought up to the backend's log head before any answer.

Read commands need only this and the index, never the writer's machinery in `registry/log.py`. A
read writes to the index only when it is behind the log; where it cannot be written at all (a
read-only checkout, a full disk), the read builds a private index in memory instead. Every answer
also checks that the pointers hold what the log says, where the backend can tell cheaply: a pointer
moved behind bundlectl's back makes reads fail as `verify` does (exit 5), never answer "ok".
"""

from __future__ import annotations

import time

from bundlectl.errors import Conflict, IntegrityFailure
from bundlectl.registry.events import parse_event
from bundlectl.registry.index import Index, IndexUnwritable
from bundlectl.registry.pointers import PointerValue, pointer_of
from bundlectl.storage.base import Storage

MAX_ATTEMPTS = 50  # reads and writes retry this often while other writers keep moving the log
# A writer's ref transaction renames its refs into place one after another, so a reader can see the log
# and a pointer from different sides of it for a moment. A disagreement that outlasts these pauses
# with the log head unchanged was not made by a writer of bundlectl.
SETTLE_PAUSES = (0.0, 0.01, 0.05, 0.25)


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
            raise storage.no_registry()
        known = index.head()
        if known.id == head:
            wrong = _pointers_against_log(index, storage, head)
            if wrong is None:
                continue  # the log moved while the pointers were read: read both again
            if wrong:
                raise IntegrityFailure(
                    f"the pointer pointers/{wrong[0]} {_stored_against_logged(index, storage, wrong[0])}: it was moved "
                    "outside bundlectl",
                    "run `bundlectl verify` for the details; restore the registry from a clone or a backup",
                )
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


def _pointers_against_log(index: Index, storage: Storage, head: str) -> list[str] | None:
    """The pointers that disagree with the log at `head` ([] if none); None when the log moved meanwhile."""
    expected = {pointer_of(row).storage_name: pointer_of(row).encode() for row in index.pointers()}
    wrong: list[str] = []
    for pause in SETTLE_PAUSES:
        time.sleep(pause)
        wrong = storage.mismatched_pointers(expected)
        if not wrong:
            return []
        if storage.log_head() != head:
            return None
    return wrong


def _stored_against_logged(index: Index, storage: Storage, name: str) -> str:
    """What a disagreeing pointer holds against what the log says it holds, for the error message."""
    logged = {pointer_of(row).storage_name: pointer_of(row) for row in index.pointers()}.get(name)
    stored = storage.read_pointer(name)
    try:
        value = PointerValue.decode(stored.value, name) if stored else None
    except IntegrityFailure:
        return "holds no bundlectl pointer value"
    said = f"says {value.version} (version {value.pointer_version})" if value else "is missing"
    return f"{said} but the log says " + (f"{logged.version} (version {logged.pointer_version})" if logged else "nothing")
