"""Environment pointers: their names in storage, the value they hold, and the pointer write each move implies.

The log is the truth; a pointer is the cheap copy of "what is live" that serving processes poll. Its
value names the log record that set it (`seq`), so a pointer that disagrees with the log is caught.
Promotion, rollback, `registry copy`, `verify` and the runtime all go through this module.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from bundlectl.digest.canonical import canonical_json
from bundlectl.errors import IntegrityFailure
from bundlectl.names import is_env, is_name
from bundlectl.registry.events import Event
from bundlectl.registry.rows import PointerRow


def pointer_name(name: str, env: str) -> str:
    """`envs/NAME/ENV`; both parts are checked, since the name becomes a path under refs/bundlectl/."""
    if not (is_name(name) and is_env(env)):
        raise IntegrityFailure(f"{name!r} in {env!r} is not a valid bundle name and environment",
                               "names are lowercase letters, digits and dashes; run `bundlectl verify`")
    return f"envs/{name}/{env}"


@dataclass(frozen=True)
class PointerValue:
    name: str
    env: str
    digest: str
    version: str
    pointer_version: int
    seq: int  # the log record that set it

    @property
    def storage_name(self) -> str:
        return pointer_name(self.name, self.env)

    def encode(self) -> bytes:
        return canonical_json(asdict(self))

    @classmethod
    def decode(cls, data: bytes, where: str) -> PointerValue:
        try:
            raw = json.loads(data)
            value = cls(**{f: raw[f] for f in _FIELDS})
            if set(raw) != set(_FIELDS) or not all(isinstance(getattr(value, f), t) and not isinstance(getattr(value, f), bool)
                                                   for f, t in _FIELDS.items()):
                raise TypeError("unexpected keys or types")
        except (ValueError, KeyError, TypeError):
            raise IntegrityFailure(f"pointer {where} does not hold a bundlectl pointer value",
                                   "run `bundlectl verify`; it was written outside bundlectl") from None
        return value  # a value that decodes but disagrees with the log is for the caller to judge


_FIELDS: dict[str, type] = {"name": str, "env": str, "digest": str, "version": str, "pointer_version": int, "seq": int}


def pointer_set_by(event: Event) -> PointerValue | None:
    """The pointer value a log record sets: a promotion's or rollback's target; None for other actions."""
    if not event.is_move:
        return None
    move = event.move()
    return PointerValue(move["name"], move["env"], move["to_digest"], move["to_version"], move["pointer_version"],
                        event.seq)


def pointer_of(row: PointerRow) -> PointerValue:
    """The value the pointer of a live row must hold: what the log record that set it wrote."""
    return PointerValue(row.name, row.env, row.digest, row.version, row.pointer_version, row.seq)


def pointer_disagrees(name: str, found: PointerValue | None, logged: PointerRow | None) -> IntegrityFailure:
    """The error for a stored pointer that does not say what the read index, built from the log, says."""
    def said(value: PointerValue | PointerRow | None) -> str:
        return f"{value.version} ({value.digest[:19]}…, version {value.pointer_version})" if value else "nothing"

    return IntegrityFailure(f"pointer {name} says {said(found)}, but the read index built from the log says {said(logged)}; "
                            "one of them was changed outside bundlectl",
                            "run `bundlectl verify` to see which; nothing was changed")
