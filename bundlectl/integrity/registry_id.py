"""Which registry a record belongs to (README: Trust, docs/trust-limits.md).

`init` draws a random id and every record after it names that id in its payload, so it is signed with
it: a record signed in another registry (a sandbox copy) names another id and never counts here. The
id changes only by a `registry` record: a sandbox copy's own id (it names the registry and the record
it copies), the id a legacy log logs at its first write under trust, or the retirement of a registry
that was migrated elsewhere (after which the log takes no record).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any, NamedTuple

REGISTRY_ID = re.compile(r"[0-9a-f]{32}")


def new_registry_id() -> str:
    return secrets.token_hex(16)


def is_registry_id(value: Any) -> bool:
    return isinstance(value, str) and REGISTRY_ID.fullmatch(value) is not None


class NotThisRegistry(ValueError):
    """A record that does not belong to the registry in force at it; the message says why."""


class Identity(NamedTuple):
    """The registry a log is at one record: its id (None: a legacy log that has not logged one yet)."""

    registry: str | None = None
    since: int = 0  # the record that set it
    copy_of: str | None = None  # a sandbox copy: the registry it copies, and the last record it copied
    copied_at: int | None = None
    retired_to: str | None = None  # migrated away (registry copy --migrate): the log takes no more records

    def to_json(self) -> str:
        return json.dumps(self._asdict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Identity:
        return cls(**json.loads(text)) if text else cls()

    def describe(self) -> str:
        if self.registry is None:
            return "a legacy registry that has not logged its id yet"
        what = f"registry {self.registry}"
        if self.copy_of is not None or self.copied_at is not None:
            what += f", a sandbox copy of {self.copy_of or 'a legacy registry'} made after its seq {self.copied_at}"
        if self.retired_to is not None:
            what += f", retired at seq {self.since} (migrated to {self.retired_to})"
        return what


def identity_after(current: Identity, seq: int, prev: str | None, action: str, data: dict[str, Any], named: str | None) -> Identity:
    """The identity after a record naming `named`; NotThisRegistry when the record does not belong here."""
    if current.retired_to is not None:
        raise NotThisRegistry(
            f"follows the retirement of this registry at seq {current.since} (it was migrated to "
            f"{current.retired_to}): a retired registry takes no more records"
        )
    if action == "init":
        declared = data.get("registry")
        if named != declared:
            raise NotThisRegistry(f"names registry {named} in its envelope but declares {declared}")
        return Identity(declared, seq) if declared is not None else current
    if action == "registry":
        return _changed(current, seq, prev, data, named)
    if named != current.registry:
        if current.registry is None:
            raise NotThisRegistry(f"names registry {named}, but this log had not logged an id yet: it was signed for another registry")
        if named is None:
            raise NotThisRegistry(
                f"names no registry, but this log is registry {current.registry} since seq {current.since}: every record after that names it"
            )
        raise NotThisRegistry(
            f"was made for registry {named}, not this one ({current.registry}): a record signed in "
            "another registry (such as a sandbox copy) never counts here"
        )
    return current


def _changed(current: Identity, seq: int, prev: str | None, data: dict[str, Any], named: str | None) -> Identity:
    declared, copy_of, retired_to = data["registry"], data.get("copy_of"), data.get("retired_to")
    if named != declared:
        raise NotThisRegistry(f"names registry {named} in its envelope but declares {declared}")
    if retired_to is not None:
        if declared != current.registry or copy_of is not None:
            raise NotThisRegistry("retires a registry other than this one")
        return current._replace(since=seq, retired_to=retired_to)
    if copy_of is None:
        if current.registry is not None:
            raise NotThisRegistry(
                f"renames registry {current.registry} to {declared} without being a copy of it; only a legacy log without an id logs one this way"
            )
        return Identity(declared, seq)
    expected = {"registry": current.registry, "seq": seq - 1, "hash": prev}
    if copy_of != expected or declared == current.registry:
        raise NotThisRegistry(
            f"claims to make a sandbox copy of {copy_of}, but the record before it is {expected} and the copy needs an id of its own"
        )
    return Identity(declared, seq, current.registry, seq - 1)
