"""Pointers: their names in storage, the values they hold, and the pointer write each log record implies.

The log is the truth; a pointer is the cheap copy that serving processes poll. An environment pointer
(`envs/NAME/ENV`) says what is live; a pause pointer (`pauses/NAME/ENV`) says whether the environment
is paused (the kill switch); a canary pointer (`canaries/NAME/ENV`) names the candidate served beside the
live bundle and its share of requests. Each value names the log record that set it (`seq`), so a pointer that
disagrees with the log is caught. Promotion, rollback, pause, `registry copy`, `verify` and the runtime
all go through this module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import ClassVar, NamedTuple, TypeVar

from bundlectl.digest.canonical import canonical_json
from bundlectl.errors import IntegrityFailure, MalformedRecord, PointerMismatch
from bundlectl.foundation.names import is_env, is_name
from bundlectl.registry.events import Event
from bundlectl.registry.rows import CanaryRow, PauseRow, PointerRow
from bundlectl.storage.base import LogMoved, Pointer, Storage


def pointer_name(name: str, env: str) -> str:
    """`envs/NAME/ENV`; both parts are checked, since the name becomes a path under refs/bundlectl/."""
    return f"envs/{_checked(name, env)}"


HEAD_POINTER = "head"  # refs/bundlectl/pointers/head, s3://…/pointers/head: the newest record, once trust is set
PAUSE_PREFIX = "pauses/"


def pause_pointer_name(name: str, env: str) -> str:
    """`pauses/NAME/ENV`: where the kill switch of NAME in ENV is kept."""
    return PAUSE_PREFIX + _checked(name, env)


CANARY_PREFIX = "canaries/"


def canary_pointer_name(name: str, env: str) -> str:
    """`canaries/NAME/ENV`: the candidate of NAME in ENV and its share of requests."""
    return CANARY_PREFIX + _checked(name, env)


def _checked(name: str, env: str) -> str:
    if not (is_name(name) and is_env(env)):
        raise MalformedRecord(
            f"{name!r} in {env!r} is not a valid bundle name and environment",
            "names are lowercase letters, digits and dashes; run `bundlectl verify`",
        )
    return f"{name}/{env}"


Value = TypeVar("Value", "PointerValue", "PauseValue", "CanaryValue")
# git commits a ref transaction by renaming one lock file after another (the log before the pointers),
# so a reader can see the new log head with the old pointer for a moment: look again before calling it damage
SETTLE_DELAYS = (0.005, 0.02, 0.05, 0.25)


def _decode(cls: type[Value], data: bytes, where: str) -> Value:
    """A stored pointer value with exactly the fields of `cls`, each of its type (a bool is no int here)."""
    fields: dict[str, type] = cls.FIELDS
    try:
        raw = json.loads(data)
        value = cls(**{f: raw[f] for f in fields})
        if set(raw) != set(fields) or not all(isinstance(raw[f], t) and (t is bool or not isinstance(raw[f], bool)) for f, t in fields.items()):
            raise TypeError("unexpected keys or types")
    except (ValueError, KeyError, TypeError):
        raise MalformedRecord(
            f"pointer {where} does not hold a bundlectl pointer value", "run `bundlectl verify`; it was written outside bundlectl"
        ) from None
    return value  # a value that decodes but disagrees with the log is for the caller to judge


@dataclass(frozen=True)
class PointerValue:
    """What is live in one environment: the value of `envs/NAME/ENV`."""

    FIELDS: ClassVar[dict[str, type]] = {"name": str, "env": str, "digest": str, "version": str, "pointer_version": int, "seq": int}

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
        return _decode(cls, data, where)


@dataclass(frozen=True)
class PauseValue:
    """Whether one environment is paused: the value of `pauses/NAME/ENV` (a resume writes paused=false)."""

    FIELDS: ClassVar[dict[str, type]] = {"name": str, "env": str, "paused": bool, "seq": int}

    name: str
    env: str
    paused: bool
    seq: int  # the pause or resume record that set it

    @property
    def storage_name(self) -> str:
        return pause_pointer_name(self.name, self.env)

    def encode(self) -> bytes:
        return canonical_json(asdict(self))

    @classmethod
    def decode(cls, data: bytes, where: str) -> PauseValue:
        return _decode(cls, data, where)


@dataclass(frozen=True)
class CanaryValue:
    """The canary of one environment: the value of `canaries/NAME/ENV`; percent 0 once it ended (or completed)."""

    FIELDS: ClassVar[dict[str, type]] = {"name": str, "env": str, "digest": str, "version": str, "percent": int, "seq": int}

    name: str
    env: str
    digest: str  # the candidate
    version: str
    percent: int  # its share of routed requests; 0: no canary runs
    seq: int  # the canary record that set it, or the promotion that completed it

    @property
    def storage_name(self) -> str:
        return canary_pointer_name(self.name, self.env)

    def encode(self) -> bytes:
        return canonical_json(asdict(self))

    @classmethod
    def decode(cls, data: bytes, where: str) -> CanaryValue:
        return _decode(cls, data, where)


AnyValue = PointerValue | PauseValue | CanaryValue


def pointer_set_by(event: Event) -> PointerValue | None:
    """The environment pointer value a log record sets: a promotion's or rollback's target; None for others."""
    if not event.is_move:
        return None
    move = event.move()
    return PointerValue(move["name"], move["env"], move["to_digest"], move["to_version"], move["pointer_version"], event.seq)


def pause_set_by(event: Event) -> PauseValue | None:
    """The pause pointer value a pause or resume record sets; None for other actions."""
    if not event.is_pause:
        return None
    pause = event.pause()
    return PauseValue(pause["name"], pause["env"], event.action == "pause", event.seq)


def canary_set_by(event: Event) -> CanaryValue | None:
    """The canary pointer value a record sets: a canary's start, step or end, or the promotion that completes one."""
    if event.is_canary:
        canary = event.canary()
        return CanaryValue(canary["name"], canary["env"], canary["digest"], canary["version"], canary["percent"], event.seq)
    if event.is_move and "canary_completed" in event.data:
        move = event.move()
        return CanaryValue(move["name"], move["env"], move["to_digest"], move["to_version"], 0, event.seq)
    return None


def pointer_written_by(event: Event) -> PointerValue | PauseValue | None:
    """The environment or pause pointer a log record writes, if any."""
    return pointer_set_by(event) or pause_set_by(event)


def pointers_written_by(event: Event) -> list[AnyValue]:
    """Every pointer a log record writes (a promotion that completes a canary writes two)."""
    return [value for value in (pointer_set_by(event), pause_set_by(event), canary_set_by(event)) if value is not None]


def stored_as_logged(
    storage: Storage, name: str, logged: AnyValue | None, log_head: str | None, decode: Callable[[bytes, str], AnyValue]
) -> Pointer | None:
    """The stored pointer `name`, checked to hold what the index built from the log says (`logged`; None: never set).

    A writer plans against the index as of `log_head`; if the stored pointer differs because another
    writer got in first, the plan must be made again (LogMoved). If the log did not move, the pointer or
    the index was changed outside bundlectl: deciding on either would decide on a lie ("already live")
    or overwrite the evidence of tampering. A write in flight can look like that for a moment (see
    SETTLE_DELAYS), so a disagreement must last before it is called damage.
    """
    for delay in (*SETTLE_DELAYS, None):
        stored = storage.read_pointer(name)
        found = decode(stored.value, name) if stored else None
        if found == logged:
            return stored
        if storage.log_head() != log_head:
            raise LogMoved()
        if delay is not None:
            time.sleep(delay)
    raise disagreement(name, found, logged)


def describe(value: AnyValue | None) -> str:
    """A pointer value in a message: what is live, whether paused, or the canary."""
    if value is None:
        return "nothing"
    if isinstance(value, PauseValue):
        return f"{'paused' if value.paused else 'resumed'} at seq {value.seq}"
    if isinstance(value, CanaryValue):
        return f"canary {value.version} at {value.percent}% (seq {value.seq})" if value.percent else f"no canary (seq {value.seq})"
    return f"{value.version} ({value.digest[:19]}…)"


def logged_pointer(row: PointerRow | None) -> PointerValue | None:
    """The value the log says an environment pointer holds."""
    return PointerValue(row.name, row.env, row.digest, row.version, row.pointer_version, row.seq) if row else None


def logged_pause(row: PauseRow | None) -> PauseValue | None:
    """The value the log says a pause pointer holds."""
    return PauseValue(row.data["name"], row.data["env"], row.paused, row.seq) if row else None


def disagreement(name: str, found: AnyValue | None, logged: AnyValue | None) -> IntegrityFailure:
    """The error for a stored pointer that does not say what the read index, built from the log, says."""
    return PointerMismatch(
        f"pointer {name} says {describe(found)}, but the read index built from the log says {describe(logged)}; "
        "one of them was changed outside bundlectl and nothing was written",
        "run `bundlectl verify` to see which",
    )


def logged_canary(row: CanaryRow | None, completed_by: int | None) -> CanaryValue | None:
    """The value the log says a canary pointer holds: its newest canary record's, or the completing promotion's (seq)."""
    if row is None:
        return None
    data = row.data
    if completed_by is not None:
        return CanaryValue(data["name"], data["env"], data["digest"], data["version"], 0, completed_by)
    return CanaryValue(data["name"], data["env"], data["digest"], data["version"], data["percent"], row.seq)


class HeadValue(NamedTuple):
    """What the head pointer holds once trust is set: the sequence number and hash of the newest record."""

    seq: int
    hash: str

    def encode(self) -> bytes:
        return canonical_json(self._asdict())

    @classmethod
    def decode(cls, data: bytes) -> HeadValue | None:
        try:
            raw = json.loads(data)
            value = cls(raw["seq"], raw["hash"])
        except (ValueError, KeyError, TypeError):
            return None
        return value if set(raw) == {"seq", "hash"} and isinstance(value.seq, int) and isinstance(value.hash, str) else None
