"""The kill switch: `pause` makes serving runtimes refuse ENV's bundle (they take their fallback path) until `resume`.

Both are logged events that set the environment's pause pointer in the same atomic step, so a runtime
sees them with the same cheap poll it uses for promotions. A pause moves nothing: what is live stays
live. While paused, promotion is refused; a rollback is allowed (pause, roll back, then resume).
Once trust is set, both are a promoter's act for that environment, signed like a promotion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from bundlectl.drift.authority import owner_authority_claim
from bundlectl.errors import Conflict, NotFound, Refused
from bundlectl.registry.events import Action, PauseData
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append, recorded_actor
from bundlectl.registry.pointers import PauseValue, logged_pause, pause_pointer_name, stored_as_logged
from bundlectl.registry.rows import PauseRow, PointerRow
from bundlectl.storage.base import PointerUpdate, Storage
from bundlectl.trust.identity import Acting


class PauseResult(NamedTuple):
    name: str
    env: str
    paused: bool  # the state asked for
    live: PointerRow  # what is live there (a pause does not change it)
    before: PauseRow | None  # the newest pause or resume before this command
    seq: int | None  # the event written; None when nothing changed (already so, or a dry run)
    dry_run: bool

    @property
    def changed(self) -> bool:
        return self.seq is not None

    def to_json(self) -> dict[str, Any]:
        """The `pause --json` and `resume --json` document."""
        live, before = self.live, self.before
        return {
            "name": self.name,
            "env": self.env,
            "paused": self.paused,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "seq": self.seq,
            "version": live.version,
            "digest": live.digest,
            "pointer_version": live.pointer_version,
            "before": before.summary() if before and before.paused else None,
        }

    @property
    def already(self) -> bool:
        """It was already in the state asked for: nothing to do."""
        return (self.before is not None and self.before.paused) == self.paused


def pause(storage: Storage, name: str, env: str, actor: Acting, reason: str | None, *, dry_run: bool = False, as_owner: bool = False) -> PauseResult:
    """`bundlectl pause`; `as_owner`: by the bundle's owner on the authority of consecutive out-of-tolerance reviews
    (`bundlectl review`), which the pause records."""
    return set_paused(storage, name, env, actor, reason, paused=True, dry_run=dry_run, authority=owner_authority_claim if as_owner else None)


def set_paused(
    storage: Storage,
    name: str,
    env: str,
    actor: Acting,
    reason: str | None,
    *,
    paused: bool,
    dry_run: bool = False,
    authority: Callable[[Index, PointerRow], dict[str, Any]] | None = None,
) -> PauseResult:
    """Pause (or resume) NAME in ENV; doing it twice is a no-op. A pause needs a reason: serving code shows it.

    `authority`: the owner's claim to pause without a promoter role, checked against the index the plan reads
    (drift/authority.py); it is recorded with the pause, and the trust rules let the owner's key sign it."""
    if paused and not (reason and reason.strip()):
        raise Refused(
            f"a pause of {name} in {env} needs a reason; nothing was changed",
            "say why with --reason TEXT: serving code receives it with every refused request",
        )
    seen: dict[str, PauseResult] = {}

    def plan(index: Index) -> Planned | None:
        live = index.pointer(name, env)
        if live is None:
            raise NotFound(
                f"nothing of {name} is live in {env}, so there is nothing to {'pause' if paused else 'resume'}",
                f"check the name and environment: `bundlectl status {name}`",
            )
        before = index.pause(name, env)
        pointer = pause_pointer_name(name, env)
        stored = stored_as_logged(storage, pointer, logged_pause(before), index.head().id, PauseValue.decode)
        seen["result"] = result = PauseResult(name, env, paused, live, before, None, dry_run)
        if result.already:
            return None
        action: Action = "pause" if paused else "resume"
        data = PauseData(name=name, env=env, digest=live.digest, version=live.version, pointer_version=live.pointer_version)
        if authority is not None:
            data["authority"] = authority(index, live)
        if dry_run:  # refused as the real act would be: an owner without the authority, a key that may not sign it
            recorded_actor(index, action, dict(data), actor)
            return None
        value = PauseValue(name, env, paused, index.head().seq + 1)
        return Planned(action, data, [PointerUpdate(pointer, stored.token if stored else None, value.encode())])

    event = append(storage, plan, actor, reason)
    return seen["result"]._replace(seq=event.seq if event else None)


def refuse_while_paused(index: Index, name: str, env: str, judged: int | None = None) -> None:
    """Promotion's rule: a paused environment takes no promotion until it is resumed (rollbacks are allowed).

    `judged`: the log seq of the state the caller decided on (the guard's canary step); a pause since is a conflict.
    """
    pause = index.pause(name, env)
    if pause is not None and pause.paused and judged is not None and pause.seq > judged:
        raise Conflict(
            f"{env} of {name} was paused (by {pause.actor} at {pause.time}: {pause.reason}) after the canary "
            "step the guard judged began; nothing was changed",
            f"resume it with `bundlectl resume {name} --env {env}`, then run the guard again",
        )
    if pause is not None and pause.paused:
        raise Refused(
            f"{env} of {name} is paused (by {pause.actor} at {pause.time}: {pause.reason}); nothing was changed",
            f"resume it first with `bundlectl resume {name} --env {env}`, or roll back while paused with `bundlectl rollback {name} --env {env}`",
        )
