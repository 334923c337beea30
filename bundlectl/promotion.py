"""Changing what is live: policy set, approve and promote, each one logged event.

Promotion plans against the index, runs the gate, and moves the environment pointer by
compare-and-swap in the same atomic step as the log append. If the pointer moved since this command
first looked, that is a conflict (exit 3), never a silent overwrite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bundlectl.clock import now_utc
from bundlectl.digest.canonical import canonical_json, digest_of
from bundlectl.errors import Conflict, IntegrityFailure, Refused
from bundlectl.gate.evaluate import environment_policy, evaluate_gate
from bundlectl.gate.result import GateResult
from bundlectl.registry.index import BundleRow, Index, PointerRow
from bundlectl.registry.log import Planned, append, fresh_index
from bundlectl.storage.base import LogMoved, PointerUpdate, Storage


class GateRefused(Refused):
    def __init__(self, result: GateResult) -> None:
        failed = ", ".join(c.name for c in result.failures())
        super().__init__(f"{result.name}@{result.version} may not go live in {result.env}: failed {failed}; nothing was changed",
                         f"see `bundlectl gate {result.name}@{result.version} --env {result.env}` for each check")
        self.result = result


@dataclass(frozen=True)
class PolicyResult:
    policy: dict[str, Any]
    digest: str
    created: bool
    seq: int | None


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


def pointer_name(name: str, env: str) -> str:
    return f"envs/{name}/{env}"


def pointer_value(name: str, env: str, digest: str, version: str, pointer_version: int, seq: int) -> bytes:
    """What an environment pointer holds: the one definition move, copy and verify agree on."""
    return canonical_json({"name": name, "env": env, "digest": digest, "version": version,
                           "pointer_version": pointer_version, "seq": seq})


def set_policy(storage: Storage, data: bytes, label: str, actor: str, reason: str | None = None, dry_run: bool = False) -> PolicyResult:
    from bundlectl.policy.load import parse_policy

    document = parse_policy(data, label).model_dump(mode="json")
    digest = digest_of(document)

    def plan(index: Index) -> Planned | None:
        current, _ = index.policy()
        if current is not None and digest_of(current) == digest:
            return None
        return Planned("policy", {"policy": document, "policy_digest": digest})

    if dry_run or plan(fresh_index(storage)) is None:
        return PolicyResult(document, digest, False, None)
    event = append(storage, plan, actor, reason)
    return PolicyResult(document, digest, event is not None, event.seq if event else None)


def approve(storage: Storage, bundle: BundleRow, env: str, actor: str, reason: str | None = None) -> int | None:
    """Record `actor`'s approval of this bundle digest for `env`; approving twice is a no-op."""

    def plan(index: Index) -> Planned | None:
        environment_policy(index, env)
        if any(a.actor == actor for a in index.approvals_for(bundle.digest, env)):
            return None
        return Planned("approval", {"name": bundle.name, "version": bundle.version, "digest": bundle.digest, "env": env})

    event = append(storage, plan, actor, reason)
    return event.seq if event else None


def check_gate(storage: Storage, bundle: BundleRow, env: str, actor: str, now: datetime | None = None) -> GateResult:
    return evaluate_gate(fresh_index(storage), bundle, env, actor, now or now_utc())


def move_pointer(
    storage: Storage, bundle: BundleRow, env: str, actor: str, action: str, extra: dict[str, Any],
    decide: Any, reason: str | None, dry_run: bool, expected_seq: int | None | str = "first-look",
) -> MoveResult:
    """The one compare-and-swap move of an environment pointer, shared by promote and rollback.

    `expected_seq` is the log position of the pointer state the caller decided on (rollback plans
    ahead); by default it is whatever this function first sees.
    `decide(index, pointer)` runs on every planning attempt and raises to refuse (gate, rules);
    it returns the gate result to record (if any) and extra event data decided with it.
    """
    seen: dict[str, Any] = {} if expected_seq == "first-look" else {"seq": expected_seq}

    def plan(index: Index) -> Planned | None:
        pointer = index.pointer(bundle.name, env)
        current = pointer.seq if pointer else None
        if "seq" not in seen:
            seen["seq"] = current
        seen.setdefault("pointer", pointer)
        if seen["seq"] != current:
            assert pointer is not None
            raise Conflict(
                f"{env} of {bundle.name} was moved by {pointer.actor} at {pointer.time} (to {pointer.version}) "
                "while this command ran; nothing was changed",
                "check `bundlectl status` and run the command again if it still makes sense",
            )
        if pointer is not None and pointer.digest == bundle.digest:
            seen["already"] = True
            return None
        seen["gate"], decided = decide(index, pointer)
        if dry_run:
            return None
        stored = storage.read_pointer(pointer_name(bundle.name, env))
        stored_seq = json.loads(stored.value).get("seq") if stored else None
        if stored_seq != (pointer.seq if pointer else None):
            if storage.log_head() != index.head().id:
                raise LogMoved()  # another writer moved it since we planned: plan again
            raise IntegrityFailure(f"pointer {pointer_name(bundle.name, env)} disagrees with the event log",
                                   "run `bundlectl verify`")
        version = (pointer.pointer_version if pointer else 0) + 1
        seq = index.head().seq + 1
        data = {"name": bundle.name, "env": env, "from_digest": pointer.digest if pointer else None,
                "from_version": pointer.version if pointer else None, "to_digest": bundle.digest,
                "to_version": bundle.version, "pointer_version": version, **extra, **decided}
        gate = seen["gate"]
        if gate is not None:
            data["gate"] = {"passed": gate.passed, "checks": [c.name for c in gate.checks], "evidence": gate.evidence}
        value = pointer_value(bundle.name, env, bundle.digest, bundle.version, version, seq)
        seen["pointer_version"] = version
        return Planned(action, data, [PointerUpdate(pointer_name(bundle.name, env), stored.token if stored else None, value)])

    event = append(storage, plan, actor, reason)
    return MoveResult(bundle.name, env, seen.get("pointer"), bundle, seen.get("pointer_version") if event else None,
                      event.seq if event else None, dry_run, bool(seen.get("already")), seen.get("gate"))


def registry_reader(storage: Storage, record: Any) -> Any:
    """Read a registered bundle's files by bundle-relative path, digests checked."""
    from bundlectl.refs import registry_source

    return registry_source(record, storage, record.ref).read_file


def require_compatible_row(storage: Storage, bundle: BundleRow, action: str) -> None:
    from bundlectl.constraints import require_compatible

    record = bundle.record()
    require_compatible(record, registry_reader(storage, record), action)


def promote(storage: Storage, bundle: BundleRow, env: str, actor: str, reason: str | None = None,
            dry_run: bool = False, now: datetime | None = None) -> MoveResult:
    require_compatible_row(storage, bundle, "promotion")

    def decide(index: Index, pointer: PointerRow | None) -> tuple[GateResult, dict[str, Any]]:
        result = evaluate_gate(index, bundle, env, actor, now or now_utc())
        if not result.passed:
            raise GateRefused(result)
        return result, {}

    return move_pointer(storage, bundle, env, actor, "promote", {"verified": True}, decide, reason, dry_run)
