"""The one compare-and-swap move of an environment pointer, shared by promote and rollback.

A move plans against the index, lets the caller decide (gate, rules) on every planning attempt, and
moves the pointer in the same atomic step as the log append. If the pointer moved since this command
first looked, that is a conflict (exit 3), never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from bundlectl.errors import Conflict
from bundlectl.gate.result import GateResult
from bundlectl.registry.events import GateRecord, MoveData, MoveExtras
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append
from bundlectl.registry.pointers import PointerValue, logged_pointer, pointer_name, stored_as_logged
from bundlectl.registry.rows import BundleRow, PointerRow
from bundlectl.storage.base import PointerUpdate, Storage
from bundlectl.trust.identity import Acting


class FirstLook(Enum):
    """`expected_seq` default: expect whatever the pointer is at when this command first looks."""

    FIRST_LOOK = "first-look"


FIRST_LOOK = FirstLook.FIRST_LOOK


@dataclass(frozen=True)
class Decision:
    """What a caller decided for one planning attempt: the gate result to record, and event fields."""

    gate: GateResult | None
    extras: MoveExtras
    updates: list[PointerUpdate] = field(default_factory=list)  # other pointers the move sets (a completed canary's)


Decide = Callable[[Index, PointerRow | None], Decision]


@dataclass(frozen=True)
class MoveResult:
    name: str
    env: str
    from_pointer: PointerRow | None
    to: BundleRow
    pointer_version: int | None
    seq: int | None
    dry_run: bool
    already_live: bool
    gate: GateResult | None

    def to_json(self) -> dict[str, Any]:
        """The `promote --json` document."""
        before = self.from_pointer
        return {
            "name": self.name,
            "env": self.env,
            "changed": self.seq is not None,
            "dry_run": self.dry_run,
            "from_digest": before.digest if before else None,
            "to_digest": self.to.digest,
            "version": self.to.version,
            "pointer_version": self.pointer_version,
            "seq": self.seq,
            "gate": self.gate.to_json() if self.gate else None,
        }


@dataclass
class _Seen:
    """What the first planning attempt saw; later attempts must see the same pointer."""

    seq: int | None | FirstLook
    pointer: PointerRow | None = None
    looked: bool = False
    already_live: bool = False
    gate: GateResult | None = None
    pointer_version: int | None = None


def move_pointer(
    storage: Storage,
    bundle: BundleRow,
    env: str,
    actor: Acting,
    action: Literal["promote", "rollback"],
    decide: Decide,
    reason: str | None,
    dry_run: bool,
    expected_seq: int | None | FirstLook = FIRST_LOOK,
) -> MoveResult:
    """Move ENV of the bundle's name to `bundle`; `decide` raises to refuse.

    `expected_seq` is the log position of the pointer state the caller decided on (rollback plans
    ahead); by default it is whatever this function first sees.
    """
    seen = _Seen(expected_seq)

    def plan(index: Index) -> Planned | None:
        pointer = index.pointer(bundle.name, env)
        current = pointer.seq if pointer else None
        if seen.seq is FIRST_LOOK:
            seen.seq = current
        if not seen.looked:
            seen.pointer, seen.looked = pointer, True
        if seen.seq != current:
            assert pointer is not None
            raise Conflict(
                f"{env} of {bundle.name} was moved by {pointer.actor} at {pointer.time} (to {pointer.version}) "
                "while this command ran; nothing was changed",
                "check `bundlectl status` and run the command again if it still makes sense",
            )
        # the stored pointer must say what the log says before anything is decided (else: "already live" on a lie)
        name = pointer_name(bundle.name, env)
        stored = stored_as_logged(storage, name, logged_pointer(pointer), index.head().id, PointerValue.decode)
        if pointer is not None and pointer.digest == bundle.digest:
            seen.already_live = True
            return None
        decision = decide(index, pointer)
        seen.gate = decision.gate
        if dry_run:
            return None
        version = (pointer.pointer_version if pointer else 0) + 1
        extras = decision.extras.copy()
        if decision.gate is not None:
            gate = decision.gate
            extras["gate"] = GateRecord(passed=gate.passed, checks=[c.name for c in gate.checks], evidence=gate.evidence)
        data: MoveData = {
            "name": bundle.name,
            "env": env,
            "from_digest": pointer.digest if pointer else None,
            "from_version": pointer.version if pointer else None,
            "to_digest": bundle.digest,
            "to_version": bundle.version,
            "pointer_version": version,
            **extras,
        }
        value = PointerValue(bundle.name, env, bundle.digest, bundle.version, version, index.head().seq + 1)
        seen.pointer_version = version
        return Planned(action, data, [PointerUpdate(name, stored.token if stored else None, value.encode()), *decision.updates])

    event = append(storage, plan, actor, reason)
    return MoveResult(
        bundle.name,
        env,
        seen.pointer,
        bundle,
        seen.pointer_version if event else None,
        event.seq if event else None,
        dry_run,
        seen.already_live,
        seen.gate,
    )
