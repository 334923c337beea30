"""Signed records (docs/design.md: Signed records): who signs a record about to be appended, and checking each stored record
against the trust in force at it.

Reads never check signatures. Writers do, before they plan anything: `checked_index` brings the check up
to the log head (each record once per machine, remembered in the read index), so no promotion, approval
or policy change ever rests on a record that no allowed key signed. `verify` checks them all, always.

Once trust is set, every append also moves the `head` pointer to the new record, in the same atomic step.
A log cut back to an earlier record (a truncation) then disagrees with the head pointer (README: Trust).
"""

from __future__ import annotations

import functools
import json
from typing import Any, NamedTuple

from bundlectl.digest.canonical import digest_of
from bundlectl.errors import IntegrityFailure, Refused, TamperedRecord
from bundlectl.integrity.registry_id import Identity, NotThisRegistry, identity_after
from bundlectl.registry.events import Event, parse_event
from bundlectl.registry.index import Index
from bundlectl.registry.pointers import HEAD_POINTER, HeadValue
from bundlectl.registry.read import MAX_ATTEMPTS, index_at_head, log_kept_moving
from bundlectl.storage.base import PointerUpdate, Storage
from bundlectl.trust.identity import Acting
from bundlectl.trust.keys import BadSignature
from bundlectl.trust.roles import Trust
from bundlectl.trust.rules import NotAllowed, actor_of, allowed_signers, required_role
from bundlectl.trust.sign import SigningKey
from bundlectl.trust.sshsig import parse_signatures

HINT = "the registry was modified outside bundlectl; restore it from a clone or backup"


class Signing(NamedTuple):
    """Who a record about to be appended names as its actor, and the keys that sign it (none before trust)."""

    actor: str
    keys: tuple[SigningKey, ...] = ()

    def sign(self, event: Event) -> Event:
        if not self.keys:
            return event
        armored = [key.sign(event.payload()).strip() for key in self.keys]
        return event._replace(signatures="\n".join(armored).encode())


def trust_in_force(index: Index) -> Trust | None:
    text, seq = index.trust_text()
    return _parsed_trust(text, seq) if text is not None else None


@functools.lru_cache(maxsize=16)
def _parsed_trust(text: str, seq: int | None) -> Trust:
    """Parsed once per document: every promotion in a log is judged again, each under the trust in force then."""
    return Trust.from_document(json.loads(text), seq)


def signing_for(trust: Trust | None, action: str, data: dict[str, Any], acting: Acting) -> Signing:
    """How this act is signed under `trust`; Refused (nothing written) when the acting keys may not sign it."""
    first = action == "trust" and trust is None
    if first:  # the first trust file is signed by a threshold of its own admins
        trust = Trust.from_document(data["trust"], None)
    if trust is None:
        return Signing(acting.claimed)
    try:
        role = required_role(trust, action, data)
        who = f"{role.threshold} of the {role.name}" if role.threshold > 1 else f"one of the {role.name}"
    except NotAllowed:
        who = "no one"
    if not acting.keys:
        what = "the first trust file names its own admins" if first else "this registry has trust set"
        raise Refused(
            f"{what}: {_ACTS.get(action, action)} must be signed by {who}; nothing was written",
            "sign with --key PATH (your SSH key, or its .pub with ssh-agent) or set BUNDLECTL_SIGNING_KEY",
        )
    try:
        signers = allowed_signers(trust, action, data, [k.public for k in acting.keys])
    except NotAllowed as exc:
        raise Refused(f"{exc}; nothing was written", f"{_ACTS.get(action, action)} must be signed by {who} (see `bundlectl trust show`)") from None
    actor = actor_of(signers)
    if acting.explicit and acting.claimed != actor:
        raise Refused(
            f"--actor {acting.claimed} is not the principal of the signing key ({actor}); nothing was written",
            "leave --actor out: with trust set, the recorded actor is the key's principal",
        )
    return Signing(actor, acting.keys)


def named_by_keys(trust: Trust | None, acting: Acting) -> str:
    """Who `acting`'s keys name in `trust` (whatever their roles), else its claim: for questions, not for acts."""
    signers = [s for s in (trust.anyone().signer(k.public) for k in acting.keys) if s] if trust else []
    return actor_of(signers) if signers else acting.claimed


_ACTS = {
    "trust": "trust set",
    "policy": "policy set",
    "webhooks": "webhooks set",
    "register": "register",
    "evidence": "adding evidence",
    "approval": "approve",
    "promote": "promote",
    "rollback": "rollback",
    "pause": "pause",
    "resume": "resume",
}


def check_record(event: Event, trust: Trust | None) -> Trust | None:
    """IntegrityFailure unless `event` is signed as the trust in force before it demands; returns the trust after it."""
    after = trust
    if event.action == "trust":
        data = event.trust()
        after = Trust.from_document(data["trust"], event.seq, load=True)
        if digest_of(data["trust"]) != data["trust_digest"]:
            raise tampered(event, "its trust document does not match its trust_digest")
    signing = trust if trust is not None or event.action != "trust" else after
    if event.action == "registry":  # never signed (registry/log.py): it only names the id later records are signed with
        if event.signatures:
            raise tampered(event, "carries signatures, but bundlectl never signs a registry record")
        return after
    if signing is None:
        if event.signatures:  # bundlectl signs nothing before trust; a signature there could pass for a signed act later
            raise tampered(event, "carries signatures, but trust was not set yet: bundlectl never writes that")
        return after  # before any trust: a claim, as the log shows
    try:
        signatures = parse_signatures(event.signatures.decode())
    except (BadSignature, UnicodeDecodeError) as exc:
        raise tampered(event, f"its signatures cannot be read: {exc}") from None
    if not signatures:
        raise tampered(event, f"is not signed, but trust is set (since seq {signing.seq or event.seq})")
    try:
        signers = allowed_signers(signing, event.action, event.data, [s.key for s in signatures])
        for signature, signer in zip(signatures, signers, strict=True):
            signature.check(event.payload(), key=signer.key)
    except (NotAllowed, BadSignature) as exc:
        raise tampered(event, f"is not signed by a key allowed to: {exc}") from None
    if event.actor != actor_of(signers):
        raise tampered(event, f"names {event.actor!r} as its actor, but was signed by {actor_of(signers)!r}")
    return after


def checked_index(storage: Storage, allow_empty: bool = False) -> Index:
    """The read index at the log head, with the signatures of every record up to it checked (writers only).

    The head pointer is checked first, on every backend (reads check it only where that is free: git): a writer
    on a machine that never saw the registry must not append to a truncated log, because its record would move
    the head pointer on and leave no trace of what was cut.
    """
    return with_signatures_checked(storage, _at_head_pointer(storage, allow_empty))


def with_signatures_checked(storage: Storage, index: Index) -> Index:
    """`index` once the signatures and registry of every record up to its head are checked (each once per machine).

    Writers, `status --check` and the runtime before it follows a pointer: a record no allowed key signed (or signed
    for another registry) must never count, whatever the reader, since its judgment rests on who the actor is.
    """
    if index.trust_since() is None:
        return index  # no trust set: nothing is signed, nothing to check
    head, checked = index.head(), index.signatures_checked()
    if head.id is None or checked.id == head.id:
        return index
    stored = storage.events_after(checked.id, head.id) if checked.id else None
    trust = None
    if stored is None:  # never checked here (or the checked record is gone: the read index says why)
        stored = storage.events_after(None, head.id) or []
    else:
        document, seq = index.trust_before(checked.seq + 1)
        trust = Trust.from_document(document, seq) if document is not None else None
    identity = index.identity_at(checked.seq) if checked.id else Identity()
    for item in stored:
        event = parse_event(item)
        identity = check_identity(event, identity)
        trust = check_record(event, trust)
    index.mark_signatures_checked(head._replace(hash=None), checked)
    return index


def check_identity(event: Event, identity: Identity) -> Identity:
    """IntegrityFailure unless `event` belongs to the registry in force before it; returns the one after it."""
    try:
        return identity_after(identity, event.seq, event.prev, event.action, event.data, event.registry)
    except NotThisRegistry as exc:
        raise tampered(event, str(exc)) from None


def _at_head_pointer(storage: Storage, allow_empty: bool) -> Index:
    """The fresh read index, once the head pointer agrees with its log; IntegrityFailure when it never will."""
    for _ in range(MAX_ATTEMPTS):
        index = index_at_head(storage, allow_empty)
        head = index.head()
        if head.id is None:
            return index
        assert head.hash is not None
        try:
            check_head(storage, HeadValue(head.seq, head.hash), index.trust_since())
            return index
        except IntegrityFailure:
            if storage.log_head() == head.id:
                raise
            # another writer appended between our reads of the log and of its head pointer: read both again
    raise log_kept_moving()


def head_update(storage: Storage, event: Event) -> PointerUpdate:
    """The write that moves the head pointer to `event`, with the compare-and-swap token it must find."""
    current = storage.read_pointer(HEAD_POINTER)
    return PointerUpdate(HEAD_POINTER, current.token if current else None, HeadValue(event.seq, event.hash).encode())


def check_head(storage: Storage, last: HeadValue, trust_since: int | None) -> None:
    """IntegrityFailure unless the head pointer names `last`, the newest record (once trust is set), or is absent (before)."""
    pointer = storage.read_pointer(HEAD_POINTER)
    if trust_since is None:
        if pointer is not None:
            raise tampered(None, "the head pointer exists, but the log never set trust: records were cut from the log")
        return
    value = HeadValue.decode(pointer.value) if pointer else None
    if value != last:
        found = f"seq {value.seq}" if value else "nothing readable"
        raise tampered(
            None,
            f"the log ends at seq {last.seq}, but the head pointer, moved with every signed "
            f"record, names {found}: records were cut from the end of the log (or the head was rewritten)",
        )


def tampered(event: Event | None, message: str) -> IntegrityFailure:
    """The failure `verify` and writers report for a record that breaks the log's rules, named by seq and id."""
    where = f"log record seq {event.seq} ({event.action}, {str(event.id)[:12]}): " if event else ""
    return TamperedRecord(where + message, HINT)
