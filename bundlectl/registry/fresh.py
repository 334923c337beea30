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
from bundlectl.registry.pointers import PointerValue, pointer_disagrees, pointer_of
from bundlectl.storage.base import Storage

MAX_ATTEMPTS = 50  # reads and writes retry this often while other writers keep moving the log
# A writer's ref transaction renames its refs into place one after another, so a reader can see the log
# and a pointer from different sides of it for a moment. A disagreement that outlasts these pauses
# with the log head unchanged was not made by a writer of bundlectl.
SETTLE_PAUSES = (0.0, 0.01, 0.05, 0.25)


def fresh_index(storage: Storage, allow_empty: bool = False, check_pointers: bool = True) -> Index:
    """The read index brought up to the backend's current log head.

    `check_pointers=False` is for `verify` alone, which checks every pointer against the log itself
    and then needs the index as it is, to say precisely what in it disagrees.
    """
    try:
        return _caught_up(Index.open(storage.index_path()), storage, allow_empty, check_pointers)
    except IndexUnwritable:
        return _caught_up(Index.in_memory(), storage, allow_empty, check_pointers)


def _caught_up(index: Index, storage: Storage, allow_empty: bool, check_pointers: bool) -> Index:
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
            wrong = _pointers_against_log(index, storage, head) if check_pointers else []
            if wrong is None:
                continue  # the log moved while the pointers were read: read both again
            if wrong:
                found = storage.read_pointer(wrong[0])
                raise pointer_disagrees(wrong[0], PointerValue.decode(found.value, wrong[0]) if found else None,
                                        next((row for row in index.pointers() if pointer_of(row).storage_name == wrong[0]), None))
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

