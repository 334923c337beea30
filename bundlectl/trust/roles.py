"""The trust in force as typed objects: who holds which key, in which role (docs/design.md: Signed records).

Built from the stored trust document, which `trust set` writes in normal form (each key as
`PRINCIPAL KEYTYPE BASE64`, git's allowed_signers line without options). The cross-role rules live in
`check_roles`, which the trust file's model and the stored form both run.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from bundlectl.errors import MalformedRecord
from bundlectl.foundation.names import is_env
from bundlectl.trust.keys import BadKey, PublicKey

# one identity, as git's allowed_signers names it, without patterns or lists (so a principal means one person)
PRINCIPAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+@:/=-]{0,199}")
FIXED_ROLES = ("admins", "approvers", "runners", "registrants")


def person(principal: str) -> str:
    """Who a principal names, for counting and comparing: the domain after the last @ is case-insensitive (as
    DNS is), the rest exact; so `alice@Example.com` and `alice@example.com` are one person."""
    local, at, domain = principal.rpartition("@")
    return f"{local}@{domain.lower()}" if at else principal


def ambiguous_pairs(principals: list[str]) -> list[tuple[str, str]]:
    """Pairs of spellings that differ only in letter case (`Alice@` and `alice@`): one person or two, a reader
    cannot tell, so a trust file may not name both."""
    first: dict[str, str] = {}
    pairs = []
    for principal in principals:
        seen = first.setdefault(principal.lower(), principal)
        if seen != principal and (seen, principal) not in pairs:
            pairs.append((seen, principal))
    return pairs


class Signer(NamedTuple):
    principal: str
    key: PublicKey

    @classmethod
    def parse(cls, line: str, load: bool = True) -> Signer:
        """`PRINCIPAL KEYTYPE BASE64 [COMMENT]`; ValueError saying what is wrong."""
        if not isinstance(line, str):
            raise ValueError("a key must be a line of text: PRINCIPAL KEYTYPE BASE64")
        parts = line.split()
        if len(parts) < 3:
            raise ValueError("a key is a line PRINCIPAL KEYTYPE BASE64 (git's allowed_signers format)")
        principal = parts[0]
        if not PRINCIPAL.fullmatch(principal):
            raise ValueError(
                f"principal {principal[:60]!r} must be one identity (such as alice@example.com): no patterns (*, ?, !), lists (,) or quotes"
            )
        if "=" in parts[1] or parts[1].startswith(("cert-authority", "namespaces", "valid-")):
            raise ValueError(f"allowed_signers options ({parts[1][:40]}) are not supported here; give PRINCIPAL KEYTYPE BASE64")
        try:
            key = PublicKey.parse(" ".join(parts[1:3]), load)
        except BadKey as exc:
            raise ValueError(f"the key of {principal} is refused: {exc}") from None
        return cls(principal, key)

    def line(self) -> str:
        return f"{self.principal} {self.key.line()}"


class Role(NamedTuple):
    """A set of signers, and how many distinct principals of it an act needs."""

    name: str
    signers: tuple[Signer, ...]
    threshold: int = 1

    def signer(self, key: PublicKey) -> Signer | None:
        return next((s for s in self.signers if s.key == key), None)

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(s.key.fingerprint for s in self.signers)


class Trust(NamedTuple):
    admins: Role
    approvers: Role
    runners: Role
    promoters: dict[str, Role]
    registrants: Role | None  # None: anyone with a key in any role may register
    seq: int | None  # the log record that set it
    document: dict[str, Any]

    @classmethod
    def from_document(cls, document: dict[str, Any], seq: int | None, load: bool = False) -> Trust:
        """The stored trust document as typed roles; IntegrityFailure when it is not one `trust set` writes."""
        try:
            trust = trust_roles(document["roles"], seq, load)._replace(document=document)
            check_roles(trust)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise MalformedRecord(
                f"the trust document of log record {seq} cannot be read: {exc}", "run `bundlectl verify`; it was written outside bundlectl"
            ) from None
        return trust

    def roles(self) -> list[Role]:
        fixed = [self.admins, self.approvers, self.runners] + ([self.registrants] if self.registrants else [])
        return fixed + [self.promoters[env] for env in sorted(self.promoters)]

    def anyone(self) -> Role:
        """Every key of every role: who may register when no registrants are named, and add evidence."""
        seen: dict[PublicKey, Signer] = {}
        for role in self.roles():
            for signer in role.signers:
                seen.setdefault(signer.key, signer)
        return Role("keys of the trust file", tuple(seen.values()))

    def principal_of(self, key: PublicKey) -> str | None:
        signer = self.anyone().signer(key)
        return signer.principal if signer else None

    def promoters_of(self, env: str) -> Role:
        return self.promoters.get(env, Role(f"promoters of {env}", ()))


def check_roles(trust: Trust) -> None:
    """The rules across roles; ValueError naming the first one broken."""
    admin_keys = {s.key for s in trust.admins.signers}
    if not admin_keys:
        raise ValueError("roles.admins needs at least one key")
    admins = {person(s.principal) for s in trust.admins.signers}  # a threshold counts people: one principal's keys are one admin
    if not isinstance(trust.admins.threshold, int) or isinstance(trust.admins.threshold, bool) or not (1 <= trust.admins.threshold <= len(admins)):
        raise ValueError(
            f"roles.admins.threshold must be between 1 and the number of distinct admins ({len(admins)} principal{'s' if len(admins) != 1 else ''})"
        )
    owners: dict[PublicKey, str] = {}
    for role in trust.roles():
        if len({s.key for s in role.signers}) != len(role.signers):
            raise ValueError(f"{role.name} lists a key twice")
        for signer in role.signers:
            owner = owners.setdefault(signer.key, signer.principal)
            if person(owner) != person(signer.principal):
                raise ValueError(f"key {signer.key.fingerprint} is given to both {owner} and {signer.principal}; a key must name one principal")


def trust_roles(roles: dict[str, Any], seq: int | None, load: bool = False) -> Trust:
    """Typed roles from a document's `roles`; KeyError, TypeError or ValueError when they are malformed."""
    promoters = roles.get("promoters") or {}
    if not isinstance(promoters, dict) or not all(is_env(env) for env in promoters):
        raise ValueError("roles.promoters must map environment names to key lists")
    registrants = roles.get("registrants")
    return Trust(
        Role("admins", _signers(roles["admins"]["keys"], load), roles["admins"]["threshold"]),
        Role("approvers", _signers(roles["approvers"]["keys"], load)),
        Role("runners", _signers(roles["runners"]["keys"], load)),
        {env: Role(f"promoters of {env}", _signers(keys, load)) for env, keys in promoters.items()},
        None if registrants is None else Role("registrants", _signers(registrants["keys"], load)),
        seq,
        {"roles": roles},
    )


def _signers(lines: Any, load: bool) -> tuple[Signer, ...]:
    if not isinstance(lines, list):
        raise ValueError("keys must be a list of lines")
    return tuple(Signer.parse(line, load) for line in lines)
