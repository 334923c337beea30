"""A canary record follows from the canary the log had running: a start beside the live bundle the log had, with
none running and the environment not paused; a step of that very candidate to a larger share; an end at 0%.

The runtime serves a canary's candidate to its share of requests, so a step naming another bundle (or a step
with no canary running) would serve a bundle no gate passed: the gate is judged only at the start.
"""

from __future__ import annotations

from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.registry.rows import CanaryRow
from bundlectl.storage.base import Storage
from bundlectl.transitions.failures import ForgedMove
from bundlectl.transitions.gate_rule import require_gate
from bundlectl.transitions.registered import registered_bundle, unregistered


def check_canary(index: Index, storage: Storage, event: Event) -> None:
    canary = event.canary()
    name, env = canary["name"], canary["env"]
    bundle = registered_bundle(index, name, canary["version"], canary["digest"])
    if bundle is None:
        raise ForgedMove(event, "runs a canary of " + unregistered(name, canary["version"], canary["digest"]))
    live = index.pointer(name, env)
    if live is None or (live.digest, live.version, live.pointer_version) != (
        canary["live_digest"],
        canary["live_version"],
        canary["pointer_version"],
    ):
        raise ForgedMove(
            event,
            f"runs a canary beside {canary['live_version']} in {env} of {name}, but the log before "
            f"it had {live.version if live else 'nothing'} live there",
        )
    running = _running(index, name, env)
    pause = index.pause(name, env)
    paused = pause is not None and pause.paused
    if event.action == "canary":
        problem = (
            "another canary runs there"
            if running
            else "the candidate is what is live"
            if bundle.digest == live.digest
            else "it is paused"
            if paused
            else None
        )
    else:
        problem = (
            "no canary runs there"
            if running is None
            else "it names another candidate than the one running"
            if running.data["digest"] != bundle.digest
            else "it is paused"
            if paused and event.action == "canary-advance"
            else "the share does not grow"
            if event.action == "canary-advance" and canary["percent"] <= running.percent
            else "a canary-rollback ends it at 0%"
            if event.action == "canary-rollback" and canary["percent"] != 0
            else None
        )
    if problem:
        raise ForgedMove(event, f"{event.action} of {name}@{canary['version']} in {env} at {canary['percent']}%, but {problem} in the log before it")
    if event.action == "canary":
        require_gate(index, bundle, env, event)


def _running(index: Index, name: str, env: str) -> CanaryRow | None:
    """The canary running in ENV before the record: the newest canary record, with a share, and no move since."""
    row, completed = index.canary(name, env)
    return row if row is not None and row.percent and completed is None else None
