"""`verify`: re-derive everything from the log and the stored bytes; the first inconsistency is exit 5.

Checks, in order: the chain (seq and prev hash of every record), every record's signatures against the
trust in force at it (once trust is set), every registered record's digests recomputed from its fields
and file digests, every stored file and report against its sha256, every pointer move against the one
before it (no promotion while paused), every pause against what was live, every canary against what was live and the canary before it (nothing but its
completion moves a canary's environment), every pointer (environments, pauses, canaries) against the
log, that the head pointer names the newest record (once trust is set: a truncation), that the log still
contains the head this machine last saw (a rewrite of history is caught even when self-consistent), and
that the read index holds what the log gives. Every record is also judged a valid transition from the records
before it (bundlectl.transitions: gates judged again, evidence derived again from its stored report), in a read
index built in memory from the log alone, so a fresh clone judges exactly what this machine judged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bundlectl.bundle.record import BundleRecord
from bundlectl.digest.canonical import PREFIX, hex_of
from bundlectl.errors import IndexMismatch, IntegrityFailure, UsageProblem
from bundlectl.foundation.names import is_digest
from bundlectl.integrity.registry_id import Identity, is_registry_id
from bundlectl.integrity.skew import future_skew
from bundlectl.policy.in_force import ENVIRONMENT_ADDED_LATER, EVAL_ADDED_LATER, GatePolicy
from bundlectl.policy.model import Policy
from bundlectl.registry.events import Event, parse_event
from bundlectl.registry.index import Index
from bundlectl.registry.objects import blob_key, digest_in_key
from bundlectl.registry.pointers import (
    HEAD_POINTER,
    AnyValue,
    CanaryValue,
    HeadValue,
    PauseValue,
    PointerValue,
    canary_set_by,
    pointer_set_by,
    pointer_written_by,
)
from bundlectl.registry.read import index_at_head
from bundlectl.registry.rows import IndexHead
from bundlectl.registry.signatures import check_head, check_identity, check_record, tampered
from bundlectl.storage.base import Storage
from bundlectl.transitions import record_judge
from bundlectl.trust.roles import Trust


@dataclass(frozen=True)
class VerifyReport:
    events: int
    bundles: int
    objects: int
    pointers: int
    signed: int = 0  # records whose signatures were checked (those from the first `trust set` on)
    trust_since: int | None = None
    identity: Identity = Identity()  # the registry this log is (integrity/registry_id.py)
    skewed: tuple[str, ...] = ()  # records dated in the future: named once, with what to do, never a failure

    def to_json(self) -> dict[str, Any]:
        """The `verify --json` document (a failure is an error document instead)."""
        identity = self.identity
        return {
            "ok": True,
            "events": self.events,
            "bundles": self.bundles,
            "objects": self.objects,
            "pointers": self.pointers,
            "signed": self.signed,
            "trust_since": self.trust_since,
            "registry": identity.registry,
            "copy_of": identity.copy_of,
            "copied_at": identity.copied_at,
            "retired_to": identity.retired_to,
            "skewed": list(self.skewed),
        }


def verify_registry(storage: Storage, trust_root: str | None = None, registry_id: str | None = None) -> VerifyReport:
    trust_root = _pinned_root(trust_root)
    if registry_id is not None and not is_registry_id(registry_id):
        raise UsageProblem(
            f"--registry-id must be a registry id (32 hex digits), not {registry_id[:80]!r}",
            "copy the `registry` that `bundlectl verify` prints on a known-good copy",
        )
    head = storage.log_head()
    if head is None:
        index_at_head(storage, check_pointers=False)  # a log this machine has read that is gone now is damage (exit 5)
        raise storage.no_registry()
    stored = storage.events_after(None, head) or []
    checked: set[str] = set()
    registered: dict[tuple[str, str], BundleRecord] = {}  # (name, version) → its record
    pointers: dict[tuple[str, str], PointerValue] = {}
    pauses: dict[tuple[str, str], PauseValue] = {}
    canaries: dict[tuple[str, str], CanaryValue] = {}
    prev_hash, seq = None, 0
    trust: Trust | None = None
    trust_since: int | None = None
    identity = Identity()
    skewed: list[str] = []
    events = []
    for item in stored:
        event = parse_event(item)
        events.append(event)
        if event.seq != seq + 1 or event.prev != prev_hash:
            raise tampered(event, f"does not follow seq {seq}: a record was edited, dropped or reordered")
        identity = check_identity(event, identity)
        trust = check_record(event, trust)
        skew = future_skew(event.time)
        if skew is not None:
            skewed.append(f"log record seq {event.seq} ({event.action} by {event.actor}) {skew}")
        if trust is not None and trust_since is None:
            trust_since = event.seq
            _check_root(event, trust_root)
        _check_event(storage, event, registered, pointers, checked)
        _check_pause(event, pointers, pauses)
        _check_canary(event, registered, pointers, pauses, canaries)
        prev_hash, seq = event.hash, event.seq
    if not events or events[0].action != "init":
        raise tampered(None, "the log does not start with the init record")
    if events[-1].id != head:
        raise tampered(None, f"the log head {head[:12]} is not a record; it leads to seq {events[-1].seq} ({str(events[-1].id)[:12]}) indirectly")
    if registry_id is not None and identity.registry != registry_id:
        raise tampered(
            None,
            f"the log is {identity.describe()}, not the pinned registry {registry_id}: records made in "
            "another registry (a sandbox copy) were brought in, or this is not the registry you pinned",
        )
    if trust_root is not None and trust_since is None:
        raise tampered(None, f"trust root {trust_root[:19]}… was given, but this log never set trust")
    judged = Index.in_memory()  # from the log alone: what any fresh clone judges
    judged.apply(events, head, IndexHead(None, 0, None), record_judge(storage))
    expected: list[AnyValue] = [*pointers.values(), *pauses.values(), *canaries.values()]
    _check_pointers(storage, expected)
    check_head(storage, HeadValue(events[-1].seq, events[-1].hash), trust_since)
    _check_anchor(storage, {item.id for item in stored})
    _check_read_index(storage, judged)
    signed = seq - trust_since + 1 if trust_since is not None else 0
    return VerifyReport(
        len(stored), len({record.digest for record in registered.values()}), len(checked), len(expected), signed, trust_since, identity, tuple(skewed)
    )


def _pinned_root(trust_root: str | None) -> str | None:
    """`sha256:HEX` as `trust show` prints it (the bare HEX too); UsageProblem for anything else: a typo is not tampering."""
    if trust_root is None:
        return None
    pinned = PREFIX + hex_of(trust_root)
    if not is_digest(pinned):
        raise UsageProblem(
            f"--trust-root must be the full digest of the first trust file (sha256: and 64 hex digits), not {trust_root[:80]!r}",
            "copy the `root` that `bundlectl trust show` prints on a known-good copy",
        )
    return pinned


def _check_root(event: Event, trust_root: str | None) -> None:
    """The first trust file must be the pinned one: a log re-signed from its start by other keys is then caught."""
    if trust_root is not None and event.trust()["trust_digest"] != trust_root:
        raise tampered(
            event,
            f"the first trust file is {event.trust()['trust_digest'][:19]}…, not the pinned root "
            f"{trust_root[:19]}…: this log's trust began elsewhere",
        )


def _check_object(storage: Storage, key: str, checked: set[str], event: Event, what: str) -> None:
    """The stored bytes hash to the digest their key names; read in chunks, so a file of any size fits in memory.

    `what` names the file ("support-triage@1.2 retriever/index.faiss") or report the object holds.
    """
    if key in checked:
        return
    hasher = hashlib.sha256()
    try:
        present = storage.has_object(key)
        if present:
            with storage.open_object(key) as chunks:
                for chunk in chunks:
                    hasher.update(chunk)
    except IntegrityFailure as exc:  # the backend found the stored object damaged: name the record and file too
        raise tampered(event, f"{what}: {exc.message}") from None
    if not present:
        raise tampered(event, f"{what}: object {key} is missing")
    if hasher.hexdigest() != digest_in_key(key):
        raise tampered(event, f"{what}: stored object {key} does not match its digest")
    checked.add(key)


def _check_policy(event: Event) -> None:
    """The logged policy is what `policy set` stores: its model's rules hold (environments, `after` targets, no
    cycle) and it is in the model's own form, not only readable by the gate."""
    from pydantic import ValidationError

    document = event.policy()["policy"]
    try:
        GatePolicy.from_document(document, event.seq)
        stored = Policy.model_validate(document).model_dump(mode="json")
    except IntegrityFailure as exc:
        raise tampered(event, exc.message) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise tampered(event, f"the policy breaks a rule `bundlectl policy set` enforces: {where}: {first['msg']}") from None
    # an older bundlectl stored eval gates without the fields added since (their defaults are what it meant)
    environments = {
        name: {**ENVIRONMENT_ADDED_LATER, **env, "gates": {**env["gates"], "eval": {**EVAL_ADDED_LATER, **env["gates"]["eval"]}}}
        if env["gates"].get("eval") is not None
        else {**ENVIRONMENT_ADDED_LATER, **env}
        for name, env in document["environments"].items()
    }
    if stored != {**document, "environments": environments}:
        raise tampered(event, "the policy is not in the form `bundlectl policy set` stores")


def _check_event(
    storage: Storage, event: Event, registered: dict[tuple[str, str], BundleRecord], pointers: dict[tuple[str, str], PointerValue], checked: set[str]
) -> None:
    data = event.data
    if event.action == "policy":
        _check_policy(event)
    if event.action == "webhooks":
        from bundlectl.webhooks.subscriptions import record_problem

        problem = record_problem(event.data, event.seq)
        if problem is not None:
            raise tampered(event, problem)
    raw_record = event.registered_record()
    if raw_record is not None:
        record = BundleRecord.from_json(raw_record)
        altered = record.altered_component()
        if altered is not None:
            raise tampered(event, f"{record.ref}: the {altered} component digest does not match its content")
        for component in record.components.values():
            for path, entry in component.files.items():
                _check_object(storage, blob_key(entry.digest), checked, event, f"{record.ref} {path}")
        if record.computed_digest() != record.digest:
            raise tampered(event, f"{record.ref}: the bundle digest does not match its components")
        if record.record_digest != data["record_digest"] or record.digest != data.get("digest", data.get("to_digest")):
            raise tampered(event, f"{record.ref}: the record does not match the digests the event names")
        if registered.setdefault((record.name, record.version), record).digest != record.digest:
            raise tampered(event, f"registers {record.ref} a second time with other content")
    if event.action in ("evidence", "approval"):
        bound = registered.get((data["name"], data["version"]))
        if bound is None or bound.digest != data["digest"]:
            raise tampered(
                event, f"{event.action} for {data['name']}@{data['version']} ({data['digest'][:19]}…), which is not registered with that digest"
            )
    if event.action == "evidence":
        evidence = event.evidence()
        _check_object(storage, evidence["report_key"], checked, event, f"the {evidence['kind']} report {evidence['file']}")
    moved = pointer_set_by(event)
    if moved is not None:
        move, before = event.move(), pointers.get((moved.name, moved.env))
        if move["from_digest"] != (before.digest if before else None):
            raise tampered(
                event,
                f"moves {moved.env} of {moved.name} from {str(move['from_digest'])[:19]}, "
                f"but the log had it at {before.digest[:19] if before else 'nothing'}",
            )
        if moved.pointer_version != (before.pointer_version if before else 0) + 1:
            raise tampered(event, "pointer version does not follow the previous move")
        target = registered.get((moved.name, moved.version))
        if target is None or target.digest != moved.digest:
            raise tampered(event, f"points at {moved.name}@{moved.version} ({moved.digest[:19]}…), which is not registered with that digest")
        if move["from_version"] != (before.version if before else None):
            raise tampered(event, f"says {moved.env} was at {move['from_version']}, but the log had it at {before.version if before else 'nothing'}")
        pointers[(moved.name, moved.env)] = moved


def _check_pause(event: Event, pointers: dict[tuple[str, str], PointerValue], pauses: dict[tuple[str, str], PauseValue]) -> None:
    """A pause or resume names what was live and toggles the state; nothing but a rollback moves a paused environment.

    Runs after `_check_event`, so a move's pointer is already the one it set.
    """
    target = pointer_written_by(event)
    if target is None:
        return
    key = (target.name, target.env)
    paused = key in pauses and pauses[key].paused
    if event.action == "promote" and paused:
        raise tampered(event, f"promotes {target.env} of {target.name} while it is paused (seq {pauses[key].seq})")
    if not isinstance(target, PauseValue):
        return
    pause, live = event.pause(), pointers.get(key)
    if live is None or (live.digest, live.version, live.pointer_version) != (pause["digest"], pause["version"], pause["pointer_version"]):
        raise tampered(
            event,
            f"{event.action}s {target.env} of {target.name} at {pause['version']} (pointer version "
            f"{pause['pointer_version']}), but the log had it at "
            f"{f'{live.version} (pointer version {live.pointer_version})' if live else 'nothing'}",
        )
    if target.paused == paused:
        raise tampered(event, f"{event.action}s {target.env} of {target.name}, which is {'already' if paused else 'not'} paused")
    pauses[key] = target


def _check_canary(
    event: Event,
    registered: dict[tuple[str, str], BundleRecord],
    pointers: dict[tuple[str, str], PointerValue],
    pauses: dict[tuple[str, str], PauseValue],
    canaries: dict[tuple[str, str], CanaryValue],
) -> None:
    """A canary names what was live and a registered candidate, starts when none runs, only grows, and ends by a
    canary-rollback or by the promotion of its candidate; nothing else moves its environment meanwhile.

    Runs after `_check_event`, so a move's pointer is already the one it set.
    """
    target = canary_set_by(event)
    name, env = event.data.get("name"), event.data.get("env")
    before = canaries.get((str(name), str(env)))
    running = before is not None and before.percent > 0
    if event.is_move:
        if target is None and running:
            assert before is not None
            raise tampered(event, f"moves {env} of {name} while a canary of {before.version} runs there (seq {before.seq})")
        if target is not None and not (
            running and before is not None and event.data["canary_completed"] == before.seq and before.digest == target.digest
        ):
            raise tampered(
                event,
                f"says it completes canary seq {event.data['canary_completed']} of {name} in {env}, "
                f"but the log has {'a canary of ' + before.version if running and before else 'no canary'} running there",
            )
    if target is None:
        return
    key = (target.name, target.env)
    if event.is_canary:
        canary, live = event.canary(), pointers.get(key)
        if live is None or (live.digest, live.version, live.pointer_version) != (
            canary["live_digest"],
            canary["live_version"],
            canary["pointer_version"],
        ):
            raise tampered(
                event,
                f"runs a canary beside {canary['live_version']} in {target.env} of {target.name}, but the log "
                f"had {live.version if live else 'nothing'} live there",
            )
        bundle = registered.get((target.name, target.version))
        if bundle is None or bundle.digest != target.digest:
            raise tampered(event, f"names candidate {target.name}@{target.version} ({target.digest[:19]}…), which is not registered with that digest")
        paused = key in pauses and pauses[key].paused
        if event.action == "canary":
            problem = (
                "another canary runs there"
                if running
                else "the candidate is what is live"
                if target.digest == live.digest
                else "it is paused"
                if paused
                else None
            )
        else:
            assert before is not None or not running
            problem = (
                "no canary runs there"
                if not running or before is None
                else "it names another candidate"
                if before.digest != target.digest
                else "it is paused"
                if paused and event.action == "canary-advance"
                else "the share does not grow"
                if event.action == "canary-advance" and target.percent <= before.percent
                else "a canary-rollback ends it at 0%"
                if event.action == "canary-rollback" and target.percent != 0
                else None
            )
        if problem:
            raise tampered(event, f"{event.action} of {target.name} in {target.env} at {target.percent}%, but {problem}")
    canaries[key] = target


def _check_pointers(storage: Storage, expected: list[AnyValue]) -> None:
    names = {want.storage_name for want in expected}
    actual = set(storage.list_pointers()) - {HEAD_POINTER}  # the head pointer is check_head's
    for name in sorted(actual - names):
        raise tampered(None, f"pointer {name} exists but the log never set it")
    for want in expected:
        pointer = storage.read_pointer(want.storage_name)
        if pointer is None:
            raise tampered(None, f"pointer {want.storage_name} is missing; the log set it at seq {want.seq}")
        try:
            got: AnyValue | None = type(want).decode(pointer.value, want.storage_name)
        except IntegrityFailure:
            got = None
        if got != want:
            raise tampered(None, f"pointer {want.storage_name} says {got}, the log says {want}")


def _check_anchor(storage: Storage, ids: set[str]) -> None:
    path = storage.index_path()
    if not path.exists():
        return
    known = Index(path).head()
    if known.id is not None and known.id not in ids:
        raise tampered(None, f"the log was rewritten: this machine last saw seq {known.seq} at {known.id[:12]}, which is no longer in its history")


def _check_read_index(storage: Storage, judged: Index) -> None:
    """This machine's read index must hold exactly what the log gives: reads and gates answer from it."""

    path = storage.index_path()
    if not path.exists():
        return
    local = index_at_head(storage, check_pointers=False).content()
    expected = judged.content()
    for table, rows in expected.items():
        if local.get(table) != rows:
            raise IndexMismatch(
                f"the read index {path} disagrees with the log (table {table}): it was edited outside bundlectl, "
                "so status, gate and promote could have answered from it",
                f"delete {path} (it is rebuilt from the log by the next command) and find out who wrote to it",
            )
