"""A pointer move: the bundle it names is registered, the state it says it moves from is the one
the log had, and what the act demands (the gate, having been live before) holds at that point of the log."""

from __future__ import annotations

import json

from bundlectl.bundle.record import BundleRecord
from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.registry.rows import BundleRow
from bundlectl.storage.base import Storage
from bundlectl.transitions.failures import ForgedMove
from bundlectl.transitions.gate_rule import require_gate
from bundlectl.transitions.registered import registered_bundle, unregistered


def check_move(index: Index, storage: Storage, event: Event) -> None:
    move = event.move()
    name, env = move["name"], move["env"]
    target = _target(index, event)
    before = index.pointer(name, env)
    if (move["from_digest"], move["from_version"]) != ((before.digest, before.version) if before else (None, None)):
        raise ForgedMove(
            event,
            f"says {env} of {name} was at {move['from_version'] or 'nothing'}, but the log before it "
            f"had {before.version if before else 'nothing'} there",
        )
    if move["pointer_version"] != (before.pointer_version if before else 0) + 1:
        raise ForgedMove(
            event, f"sets pointer version {move['pointer_version']} of {env}, which does not follow {before.pointer_version if before else 0}"
        )
    if event.action == "promote":
        pause = index.pause(name, env)
        if pause is not None and pause.paused:
            raise ForgedMove(event, f"promotes {env} of {name} while it is paused (seq {pause.seq})")
        require_gate(index, target, env, event)
    elif not move.get("components"):
        _check_whole_rollback(index, event, target)
    else:
        _check_composed(index, event, target)
    if event.action == "promote" or not move.get("components"):
        return
    if move.get("break_glass"):
        if move.get("verified", True):
            raise ForgedMove(event, "is a break-glass rollback that says it was verified")
    else:
        replaced = registered_bundle(index, name, before.version, before.digest) if before else None
        require_gate(index, target, env, event, rollback_from=replaced)


def _target(index: Index, event: Event) -> BundleRow:
    """The bundle a move points at: registered before it, or registered by this very record (a component rollback)."""
    move = event.move()
    built = event.registered_record()
    if built is not None:
        record = BundleRecord.from_json(built)
        if (record.name, record.version, record.digest) == (move["name"], move["to_version"], move["to_digest"]):
            return BundleRow(record.name, record.version, record.digest, "", "", 0, record.record_digest, json.dumps(record.to_json()))
    row = registered_bundle(index, move["name"], move["to_version"], move["to_digest"])
    if row is None:
        raise ForgedMove(event, "points at " + unregistered(move["name"], move["to_version"], move["to_digest"]))
    return row


def _check_whole_rollback(index: Index, event: Event, target: BundleRow) -> None:
    """A whole rollback goes back to a bundle that was live in that environment, and is as verified as it was then."""
    move = event.move()
    moves = [m for m in index.moves(move["name"], move["env"]) if m.to_digest == target.digest]
    if not moves:
        raise ForgedMove(event, f"rolls {move['env']} of {move['name']} back to {target.version}, which was never live there before it")
    if move.get("verified", True) and not moves[0].verified:
        raise ForgedMove(event, f"says the rollback to {target.version} is verified, but it went live there unverified (seq {moves[0].seq})")


def _check_composed(index: Index, event: Event, target: BundleRow) -> None:
    """A component rollback points at the live bundle with the named components (and only those) taken from one bundle
    live there before: a break-glass one skips the gate, so without this it could put any registered bundle live."""
    move = event.move()
    name, env, swapped = move["name"], move["env"], list(move.get("components") or [])
    before = index.pointer(name, env)
    live = registered_bundle(index, name, before.version, before.digest) if before else None
    if live is None:
        raise ForgedMove(event, f"rolls back components of {env} of {name}, where nothing registered was live before it")
    now, wanted = live.record().components, target.record().components
    kept = [k for k in now if k not in swapped]
    if set(swapped) - set(now) or any(wanted.get(k) is None or wanted[k].digest != now[k].digest for k in kept) or set(wanted) != set(now):
        raise ForgedMove(
            event,
            f"rolls back {', '.join(swapped)} in {env} of {name} to {target.version}, which is not the "
            f"live bundle ({live.version}) with only those components changed",
        )
    sources = {m.to_digest: m.to_version for m in index.moves(name, env)}
    for digest, version in sources.items():
        source = registered_bundle(index, name, version, digest)
        if source is not None and all(k in source.record().components and source.record().components[k].digest == wanted[k].digest for k in swapped):
            return
    raise ForgedMove(
        event,
        f"rolls back {', '.join(swapped)} in {env} of {name} to {target.version}, which is not the "
        f"live bundle ({live.version}) with those components taken from a bundle live there before",
    )
