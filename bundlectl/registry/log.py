"""The one compare-and-swap rule for writing: plan against a fresh index, sign, append, retry if the log moved."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bundlectl.errors import Conflict, Refused
from bundlectl.foundation.faults import LOG_MOVED, checkpoint
from bundlectl.integrity.clock_bound import append_time
from bundlectl.integrity.registry_id import Identity, new_registry_id
from bundlectl.registry.events import Action, Event, EventData, RegistryData, summary_line
from bundlectl.registry.index import Index, IndexUnwritable
from bundlectl.registry.read import MAX_ATTEMPTS, log_kept_moving
from bundlectl.registry.signatures import Signing, checked_index, head_update, signing_for, trust_in_force
from bundlectl.storage.base import LogMoved, PointerMoved, PointerUpdate, Storage
from bundlectl.trust.identity import Acting

# Called with every record once it is stored and indexed, in the writing process: the webhooks' quick delivery
# attempt (bundlectl/webhooks/hook.py) registers itself here. A hook returns within its own small deadline and
# raises nothing; what it fails to do, `bundlectl webhooks deliver` does from the log.
AFTER_APPEND: list[Callable[[Storage, Index, Event], None]] = []


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
        identity = writable_identity(index)
        if identity.registry is None and index.head().id is not None and index.trust_since() is not None:
            _log_registry_id(storage, index)  # a legacy log under trust: its first write by this version names it
            continue
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
        declared = dict(planned.data).get("registry") if planned.action == "init" else identity.registry
        registry = declared if isinstance(declared, str) else None  # init declares the id it names
        event = Event.new(
            head.seq + 1,
            head.hash,
            append_time(storage, index, planned.action),
            signer.actor,
            planned.action,
            reason,
            dict(planned.data),
            actor.run_url,
            registry,
        )
        event = signer.sign(event)
        updates = list(planned.updates)
        trusted = index.trust_since() is not None or planned.action == "trust"
        if trusted:
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
        if trusted:  # checked up to `head` before planning, and this record was checked as it was signed
            index.mark_signatures_checked(index.head()._replace(hash=None), head._replace(hash=None))
        for hook in AFTER_APPEND:
            hook(storage, index, event)
        return event
    raise log_kept_moving()


# the actor of `registry` records (a sandbox copy's own id, a legacy log's first id, a retirement): never signed,
# they only name the id later records must be signed with, which no record signed elsewhere names
IDENTITY_ACTOR = "bundlectl"


def writable_identity(index: Index) -> Identity:
    """The registry this log is, when it may take a record; Refused (nothing written) once it was retired."""
    identity = index.identity()
    if identity.retired_to is not None:
        raise Refused(
            f"this registry was retired at seq {identity.since}: it was migrated to {identity.retired_to}, "
            "which is the registry now; nothing was written",
            f"run the command against {identity.retired_to} (`--registry {identity.retired_to}`)",
        )
    return identity


def _log_registry_id(storage: Storage, index: Index) -> None:
    """Append the record that gives a legacy log its id; records before it stay legacy (signed without one).

    Unsigned like every `registry` record; a writer that loses the race to another simply reads again.
    """
    head = index.head()
    data = RegistryData(registry=new_registry_id())
    event = Event.new(
        head.seq + 1,
        head.hash,
        append_time(storage, index),
        IDENTITY_ACTOR,
        "registry",
        "this registry's id, logged by the first write under trust that knows ids",
        dict(data),
        registry=data["registry"],
    )
    try:
        storage.append_event(event.record(), summary_line(event), head.id, [head_update(storage, event)], author=IDENTITY_ACTOR)
    except (LogMoved, PointerMoved):
        pass
