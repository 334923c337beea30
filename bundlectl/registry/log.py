"""The one compare-and-swap rule for writing: plan against a fresh index, sign, append, retry if the log moved."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bundlectl.clock import event_time
from bundlectl.errors import Conflict
from bundlectl.faults import LOG_MOVED, checkpoint
from bundlectl.identity import Acting
from bundlectl.registry.events import Action, Event, EventData, summary_line
from bundlectl.registry.fresh import MAX_ATTEMPTS, log_kept_moving
from bundlectl.registry.index import Index, IndexUnwritable
from bundlectl.registry.signatures import Signing, checked_index, head_update, signing_for, trust_in_force
from bundlectl.storage.base import LogMoved, PointerMoved, PointerUpdate, Storage


@dataclass(frozen=True)
class Planned:
    """What a writer wants appended, decided against the index as of one log head."""

    action: Action
    data: EventData
    updates: list[PointerUpdate] = field(default_factory=list)


def signing(index: Index, planned: Planned, actor: Acting) -> Signing:
    """Who signs `planned` under the trust in force; Refused, before anything is stored, if `actor` may not."""
    return signing_for(trust_in_force(index), planned.action, dict(planned.data), actor)


def recorded_actor(index: Index, action: str, data: dict[str, Any], actor: Acting) -> str:
    """The actor an act would be recorded under: the keys' principal once trust is set, else the claim.

    Refused when trust is set and `actor` may not sign the act.
    """
    return signing_for(trust_in_force(index), action, data, actor).actor


def append(
    storage: Storage,
    plan: Callable[[Index], Planned | None],
    actor: Acting,
    reason: str | None = None,
    allow_empty: bool = False,
) -> Event | None:
    """Append the event `plan` decides on; `plan` runs again whenever another writer got in first.

    `plan` returning None means there is nothing to write (an idempotent no-op). A pointer that moved
    between planning and writing is a real conflict and surfaces as exit 3, never as a retry. Once
    trust is set, the record is signed by `actor`'s keys (again on every retry: the payload names the
    head it follows) and the head pointer moves with it.
    """
    for attempt in range(MAX_ATTEMPTS):
        index = checked_index(storage, allow_empty)
        index.db.execute("BEGIN")  # one read snapshot: the plan and the head it expects must agree
        try:
            head = index.head()
            planned = plan(index)
            signer = signing(index, planned, actor) if planned is not None else None
        except LogMoved:  # the plan saw the backend move past the index it was given
            continue
        finally:
            index.db.execute("COMMIT")
        if planned is None or signer is None:
            return None
        # never earlier than the previous event, even across writers with skewed clocks: audit --at
        # reads the log by time, so time order must be log order
        event = Event.new(head.seq + 1, head.hash, max(event_time(), index.last_time() or ""), signer.actor,
                          planned.action, reason, dict(planned.data), actor.run_url)
        event = signer.sign(event)
        updates = list(planned.updates)
        if signer.keys:
            updates.append(head_update(storage, event))
        try:
            event_id = storage.append_event(event.record(), summary_line(event), head.id, updates, author=event.actor)
        except LogMoved:
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
            continue
        except PointerMoved as exc:
            raise Conflict(
                f"{exc.name} was moved by someone else while this command ran; nothing was changed",
                "check `bundlectl status` and run the command again if it still makes sense",
            ) from None
        checkpoint(LOG_MOVED)
        event = event._replace(id=event_id)
        try:
            index.apply([event], event_id, head)
        except IndexUnwritable:
            pass  # the event is in the log, which is the truth; the next read that can write catches up
        if signer.keys:  # checked up to `head` before planning, and this record was checked as it was signed
            index.mark_signatures_checked(index.head()._replace(hash=None), head._replace(hash=None))
        return event
    raise log_kept_moving()
