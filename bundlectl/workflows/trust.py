"""`trust set` and `trust show`: the trust file (docs/design.md: Signed records), stored as a logged event signed by a threshold of admins.

The first trust file is signed by a threshold of its own admins (like TUF's root); every later one by a
threshold of the admins in force. From the first one on, every record is signed (README: Trust).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bundlectl.digest.canonical import digest_of
from bundlectl.errors import NotFound
from bundlectl.registry.events import TrustData
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append, recorded_actor
from bundlectl.registry.read import index_at_head
from bundlectl.registry.signatures import trust_in_force
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting
from bundlectl.trust.model import parse_trust
from bundlectl.trust.roles import Trust


@dataclass(frozen=True)
class TrustResult:
    document: dict[str, Any]
    digest: str
    signers: str  # the principals that sign (or would sign, in a dry run) the change
    created: bool
    seq: int | None


@dataclass(frozen=True)
class TrustView:
    trust: Trust
    digest: str
    since: int  # the first `trust set`: from there on every record is signed
    root: str  # the digest of the first trust file: what `verify --trust-root` pins

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.trust.seq,
            "since": self.since,
            "digest": self.digest,
            "root": self.root,
            "threshold": self.trust.admins.threshold,
            "roles": [
                {
                    "role": role.name,
                    "threshold": role.threshold,
                    "keys": [{"principal": s.principal, "type": s.key.type, "fingerprint": s.key.fingerprint} for s in role.signers],
                }
                for role in self.trust.roles()
            ],
        }


def set_trust(storage: Storage, data: bytes, label: str, actor: Acting, reason: str | None = None, *, dry_run: bool = False) -> TrustResult:
    """Store the trust file in DATA; a dry run checks the file and that the keys given may sign it."""

    document = parse_trust(data, label)
    digest = digest_of(document)
    event_data = TrustData(trust=document, trust_digest=digest)

    def plan(index: Index) -> Planned | None:
        current, _ = index.trust()
        if current is not None and digest_of(current) == digest:
            return None
        return Planned("trust", event_data)

    index = index_at_head(storage)
    signers = recorded_actor(index, "trust", dict(event_data), actor)  # a threshold of admins, checked before anything
    if dry_run or plan(index) is None:
        return TrustResult(document, digest, signers, False, None)
    event = append(storage, plan, actor, reason)
    return TrustResult(document, digest, event.actor if event else signers, event is not None, event.seq if event else None)


def show_trust(storage: Storage) -> TrustView:
    index = index_at_head(storage)
    trust, since = trust_in_force(index), index.trust_since()
    if trust is None or since is None:
        raise NotFound(
            "this registry has no trust set: every identity in its log is a claim",
            "set one with `bundlectl trust set FILE --key ADMIN_KEY…` (README: Trust)",
        )
    first, _ = index.trust_before(since + 1)
    return TrustView(trust, digest_of(trust.document), since, digest_of(first))
