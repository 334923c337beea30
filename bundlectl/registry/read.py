"""Reading the registry: the local read index brought up to the backend's log head before any answer.

Read commands need only this and the index, never the writer's machinery in `registry/log.py`. A
read writes to the index only when it is behind the log; where it cannot be written at all (a
read-only checkout, a full disk), the read builds a private index in memory instead. Every answer
also checks that the pointers hold what the log says, where the backend can tell cheaply: a pointer
moved behind bundlectl's back makes reads fail as `verify` does (exit 5), never answer "ok".
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bundlectl.errors import BrokenChain, Conflict, PointerMismatch
from bundlectl.registry.events import parse_event
from bundlectl.registry.index import Index, IndexUnwritable, TransitionCheck
from bundlectl.registry.pointers import (
    CANARY_PREFIX,
    HEAD_POINTER,
    PAUSE_PREFIX,
    SETTLE_DELAYS,
    AnyValue,
    CanaryValue,
    HeadValue,
    PauseValue,
    PointerValue,
    disagreement,
    logged_canary,
    logged_pause,
    logged_pointer,
)
from bundlectl.storage.base import Storage

MAX_ATTEMPTS = 50  # reads and writes retry this often while other writers keep moving the log
# How records are judged before the index takes them in. The rules read the gate and evidence, which sit above
# the registry, so `bundlectl.transitions` installs itself here when imported (every entry point imports it).
_transitions: Callable[[Storage], TransitionCheck] | None = None


def judge_transitions_with(factory: Callable[[Storage], TransitionCheck]) -> None:
    global _transitions
    _transitions = factory


def transition_check(storage: Storage) -> TransitionCheck:
    """The check every catch-up applies; a reader that never installed one is a bug, never a silent pass."""
    if _transitions is None:
        raise RuntimeError("bundlectl.transitions was not imported: the log would be read without judging its records")
    return _transitions(storage)


def index_at_head(storage: Storage, allow_empty: bool = False, check_pointers: bool = True) -> Index:
    """The read index brought up to the backend's current log head.

    `check_pointers=False` is for `verify`, which checks every pointer against the log itself and then
    needs the index as it is, to say precisely what in it disagrees, and for the runtime, which checks
    its own two pointers (so damage elsewhere in the registry never stops its kill switch).
    """
    try:
        return _caught_up(Index.open(storage.index_path()), storage, allow_empty, check_pointers)
    except IndexUnwritable:
        return _caught_up(Index.in_memory(), storage, allow_empty, check_pointers)


def _caught_up(index: Index, storage: Storage, allow_empty: bool, check_pointers: bool) -> Index:
    for _ in range(MAX_ATTEMPTS):
        head = storage.log_head()
        known = index.head()
        if head is None:
            _no_log(storage, known.seq, known.id, allow_empty)
            return index
        if known.id == head:
            wrong = _pointers_against_log(index, storage, head) if check_pointers else []
            if wrong is None:
                continue  # the log moved while the pointers were read: read both again
            if wrong:
                name, found = wrong[0], storage.read_pointer(wrong[0])
                if name == HEAD_POINTER:
                    raise PointerMismatch(
                        f"the head pointer does not name the newest record of the log (seq {known.seq}): "
                        "records were cut from the log, or the pointer was changed outside bundlectl",
                        "run `bundlectl verify` to see which",
                    )
                kind = PauseValue if name.startswith(PAUSE_PREFIX) else CanaryValue if name.startswith(CANARY_PREFIX) else PointerValue
                raise disagreement(name, kind.decode(found.value, name) if found else None, _logged_pointers(index).get(name))
            return index
        stored = storage.events_after(known.id, head)
        if not stored and storage.log_head() != head:
            continue  # another process moved the shared index past the head we read: read it again
        if stored == []:
            raise BrokenChain(
                f"the registry log head {head[:12]} is not a record after seq {known.seq} ({str(known.id)[:12]}), though nothing else is writing",
                "run `bundlectl verify`; the log ref was changed outside bundlectl",
            )
        if stored is None:
            raise BrokenChain(
                f"the registry log was rewritten: the head this machine last saw (seq {known.seq}, {known.id}) is no longer in its history",
                f"run `bundlectl verify`; if the registry was replaced on purpose, delete {storage.index_path()} and retry",
            )
        index.apply([parse_event(s) for s in stored], head, known, transition_check(storage))
    raise log_kept_moving()


def log_kept_moving() -> Conflict:
    """Exit 3 when other writers moved the log on every one of MAX_ATTEMPTS reads or writes."""
    return Conflict(
        f"the registry log kept moving while this command ran ({MAX_ATTEMPTS} attempts); nothing was changed", "retry when the registry is less busy"
    )


def _no_log(storage: Storage, seq: int | None, last_seen: str | None, allow_empty: bool) -> None:
    """A backend without a log: fine for `init` on an empty one; damage once a log was seen here, or pointers remain."""
    if last_seen is not None:  # this machine read the log: it was deleted, and a new one would be a second registry
        raise BrokenChain(
            f"the registry log is gone: this machine last read it at seq {seq} ({last_seen}), and the registry no longer has it",
            f"restore the log from a clone or a backup (it was at {last_seen}); if the registry was removed on purpose, "
            f"delete {storage.index_path()} and retry",
        )
    if not allow_empty:
        raise storage.no_registry()
    leftover = sorted(storage.list_pointers())
    if leftover:  # a registry was here: its log was deleted, and `init` would start a second one over its pointers
        raise BrokenChain(
            f"the registry has pointers ({', '.join(leftover[:3])}{', …' if len(leftover) > 3 else ''}) but no log: "
            "its log was deleted outside bundlectl",
            "restore the log from a clone or a backup; starting a new registry here would keep the old pointers",
        )


def _pointers_against_log(index: Index, storage: Storage, head: str) -> list[str] | None:
    """The pointers that disagree with the log at `head` ([] if none); None when the log moved meanwhile."""
    expected = {name: value.encode() for name, value in _logged_pointers(index).items()}
    if index.trust_since() is not None:  # once trust is set, the head pointer names the newest record
        known = index.head()
        assert known.hash is not None
        expected[HEAD_POINTER] = HeadValue(known.seq, known.hash).encode()
    wrong: list[str] = []
    for pause in (0.0, *SETTLE_DELAYS):  # a writer's refs land one after another: look again before calling it damage
        time.sleep(pause)
        wrong = storage.mismatched_pointers(expected)
        if not wrong:
            return []
        if storage.log_head() != head:
            return None
    return wrong


def _logged_pointers(index: Index) -> dict[str, AnyValue]:
    """Every environment, pause and canary pointer the log has set, by storage name, with the value it must hold."""
    logged: dict[str, AnyValue] = {}
    for row in index.pointers():
        value = logged_pointer(row)
        assert value is not None
        logged[value.storage_name] = value
        for kept in (logged_pause(index.pause(row.name, row.env)), logged_canary(*index.canary(row.name, row.env))):
            if kept is not None:
                logged[kept.storage_name] = kept
    return logged
