"""Who may sign which act, once trust is set: the one table writers and `verify` both read.

An action a later feature adds must appear in ROLE_OF before anyone can sign it under trust: until it
does, every such record is refused (writers) or is tampering (`verify`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bundlectl.trust.keys import PublicKey
from bundlectl.trust.roles import Role, Signer, Trust, person

# --- issue 29: drift runs, owner reviews, and the owner's authority to pull (the one place it is written) ---
OWNER_PULLS_AFTER = 2  # consecutive reviews outside tolerance that give the owner the authority to pause or roll back


def owner_holds_authority(in_tolerance_newest_first: list[bool]) -> bool:
    """The owner may pause or roll back once the newest OWNER_PULLS_AFTER reviews were all outside tolerance."""
    recent = in_tolerance_newest_first[:OWNER_PULLS_AFTER]
    return len(recent) == OWNER_PULLS_AFTER and not any(recent)


def owner_role(trust: Trust, owner: str) -> Role:
    """The keys of the principal a bundle's `metadata.owner` names."""
    return Role(f"keys of the owner {owner}", tuple(s for s in trust.anyone().signers if s.principal == owner))


def _promoters_or_owner(trust: Trust, data: dict[str, Any]) -> Role:
    """A pause or rollback: the environment's promoters, or, claiming the owner's authority, the owner alone (the
    writer and `verify` check the claimed reviews with owner_holds_authority)."""
    authority = data.get("authority")
    if isinstance(authority, dict) and isinstance(authority.get("owner"), str):
        return owner_role(trust, authority["owner"])
    return trust.promoters_of(str(data.get("env")))


def _runners_or_promoters(trust: Trust, data: dict[str, Any]) -> Role:
    promoters = trust.promoters_of(str(data.get("env")))
    signers = dict.fromkeys([*trust.runners.signers, *promoters.signers])
    return Role(f"runners or promoters of {data.get('env')}", tuple(signers))


# `trust` and `policy` need a threshold of admins; moves of an environment need its promoters.
ROLE_OF: dict[str, Callable[[Trust, dict[str, Any]], Role]] = {
    "init": lambda trust, data: trust.admins,
    "trust": lambda trust, data: trust.admins,
    "policy": lambda trust, data: trust.admins,
    # webhook subscriptions (issue 27): who hears about every act, like the policy, an admins' decision
    "webhooks": lambda trust, data: trust.admins,
    "register": lambda trust, data: trust.registrants or trust.anyone(),
    "evidence": lambda trust, data: trust.anyone(),
    "approval": lambda trust, data: trust.approvers,
    "promote": lambda trust, data: trust.promoters_of(str(data.get("env"))),
    "rollback": _promoters_or_owner,
    # the kill switch of (docs/design.md: What the runtime promises): promoters of the environment, like a move (or the owner, issue 29)
    "pause": _promoters_or_owner,
    "resume": lambda trust, data: trust.promoters_of(str(data.get("env"))),
    # canaries (docs/design.md: Canaries): a share of an environment's traffic, moved by its promoters (the guard's --apply too)
    "canary": lambda trust, data: trust.promoters_of(str(data.get("env"))),
    "canary-advance": lambda trust, data: trust.promoters_of(str(data.get("env"))),
    "canary-rollback": lambda trust, data: trust.promoters_of(str(data.get("env"))),
    # issue 29: a drift run is signed by the runner or promoter that applied it; a review by the bundle's owner
    "drift": _runners_or_promoters,
    "review": lambda trust, data: owner_role(trust, str(data.get("owner"))),
}


class NotAllowed(ValueError):
    """The keys given may not sign this act under this trust; the message says who may."""


def required_role(trust: Trust, action: str, data: dict[str, Any]) -> Role:
    rule = ROLE_OF.get(action)
    if rule is None:
        raise NotAllowed(f"no role may sign {action!r} records")
    return rule(trust, data)


def allowed_signers(trust: Trust, action: str, data: dict[str, Any], keys: list[PublicKey]) -> list[Signer]:
    """The signers of `keys` when together they may sign this act; NotAllowed naming the first reason if not."""
    role = required_role(trust, action, data)
    signers = []
    for key in keys:
        signer = role.signer(key)
        if signer is None:
            owner = trust.principal_of(key)
            who = f"{key.fingerprint} ({owner})" if owner else f"{key.fingerprint}, which the trust file does not name,"
            raise NotAllowed(f"key {who} is not among the {role.name}")
        signers.append(signer)
    # a threshold counts people, not keys: two keys of one principal (a laptop and a security key) are one admin
    principals = {person(s.principal) for s in signers}
    if len(principals) < role.threshold:
        raise NotAllowed(
            f"{action} needs {role.threshold} distinct {role.name} (principals); {len(principals)} signed ({', '.join(sorted(principals))})"
        )
    if not signers:
        raise NotAllowed(f"{action} needs a signature by one of the {role.name}")
    return signers


def actor_of(signers: list[Signer]) -> str:
    """The recorded actor of a signed record: its signers' principals, in signing order, each once."""
    named: dict[str, str] = {}
    for signer in signers:  # one person once, however their principal's domain is spelled
        named.setdefault(person(signer.principal), signer.principal)
    return ", ".join(named.values())


def principals_of(actor: str) -> set[str]:
    """The identities a recorded actor names: one per signer of a record signed by several keys (see actor_of)."""
    return {person(p) for p in actor.split(", ")}
