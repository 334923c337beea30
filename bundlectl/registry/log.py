"""The one compare-and-swap rule for writing: plan against a fresh index, append, retry if the log moved."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bundlectl.clock import event_time
from bundlectl.faults import LOG_MOVED, checkpoint
from bundlectl.errors import Conflict, IntegrityFailure, NotFound
from bundlectl.registry.events import Action, Event, EventData, parse_event, summary_line
from bundlectl.registry.index import Index
from bundlectl.storage.base import LogMoved, PointerMoved, PointerUpdate, Storage, StoredEvent

MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class Planned:
    """What a writer wants appended, decided against the index as of one log head."""

    action: Action
    data: EventData
    updates: list[PointerUpdate] = field(default_factory=list)


def fresh_index(storage: Storage, allow_empty: bool = False) -> Index:
    """The read index brought up to the backend's current log head."""
    index = Index(storage.index_path())
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


def append(
    storage: Storage,
    plan: Callable[[Index], Planned | None],
    actor: str,
    reason: str | None = None,
    allow_empty: bool = False,
) -> Event | None:
    """Append the event `plan` decides on; `plan` runs again whenever another writer got in first.

    `plan` returning None means there is nothing to write (an idempotent no-op). A pointer that moved
    between planning and writing is a real conflict and surfaces as exit 3, never as a retry.
    """
    for attempt in range(MAX_ATTEMPTS):
        index = fresh_index(storage, allow_empty)
        index.db.execute("BEGIN")  # one read snapshot: the plan and the head it expects must agree
        try:
            head = index.head()
            planned = plan(index)
        except LogMoved:  # the plan saw the backend move past the index it was given
            continue
        finally:
            index.db.execute("COMMIT")
        if planned is None:
            return None
        # never earlier than the previous event, even across writers with skewed clocks: audit --at
        # reads the log by time, so time order must be log order
        event = Event(head.seq + 1, head.hash, max(event_time(), index.last_time() or ""), actor, planned.action,
                      reason, dict(planned.data))
        try:
            event_id = storage.append_event(event.payload(), summary_line(event), head.id, planned.updates)
        except LogMoved:
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
            continue
        except PointerMoved as exc:
            raise Conflict(
                f"{exc.name} was moved by someone else while this command ran; nothing was changed",
                "check `bundlectl status` and run the command again if it still makes sense",
            ) from None
        checkpoint(LOG_MOVED)
        stored = StoredEvent(event_id, event.payload())
        index.apply([parse_event(stored)], event_id, head)
        return parse_event(stored)
    raise Conflict(
        f"the registry log kept moving ({MAX_ATTEMPTS} attempts); nothing was changed",
        "retry when the registry is less busy",
    )
