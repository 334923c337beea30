"""Each endpoint's delivery state, kept in the registry (git: refs/bundlectl/state/, S3: state/) for every deliverer.

The state names the last record the endpoint acknowledged (its seq and storage id), the failures in a row and
when to try again, whether a 410 disabled it, and the latest attempts for `webhooks log`. It moves by
compare-and-swap: a deliverer that lost the race merges into the winner's state, and the acknowledged seq
only ever moves forward, so concurrent deliverers neither lose nor reorder; at worst one record is sent twice,
with the same `webhook-id`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from bundlectl.errors import Conflict, IntegrityFailure
from bundlectl.foundation.clock import parse_time

if TYPE_CHECKING:
    from bundlectl.storage.base import Storage

KEEP_ATTEMPTS = 50  # attempts kept per endpoint for `webhooks log`
SWAP_ATTEMPTS = 20


@dataclass(frozen=True)
class Attempt:
    seq: int | None  # None: a notice
    id: str
    type: str
    time: str
    status: int | None
    error: str | None
    ms: int
    by: str  # "deliver" (the outbox), "write" (the quick attempt after a write), "notice"


@dataclass(frozen=True)
class DeliveryState:
    acked_seq: int = 0
    acked_id: str | None = None
    failures: int = 0  # in a row, for the backoff
    retry_at: str | None = None  # not before this time (backoff)
    disabled: str | None = None  # why (410 Gone), until `webhooks enable`
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> DeliveryState:
        try:
            raw = json.loads(data)
            state = cls(
                _whole(raw["acked_seq"]),
                _text(raw["acked_id"]),
                _whole(raw["failures"]),
                _text(raw["retry_at"]),
                _text(raw["disabled"]),
                tuple(Attempt(**a) for a in raw["attempts"]),
            )
            if state.retry_at is not None:
                parse_time(state.retry_at)  # every reader compares it with the time now
            return state
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityFailure(
                f"the delivery state {where} is damaged ({type(exc).__name__})",
                f"remove it (git: `git update-ref -d refs/bundlectl/state/webhooks/{where}`; S3: the key "
                f"state/webhooks/{where}); delivery then starts again after the subscription",
            ) from None

    def with_attempts(self, attempts: list[Attempt]) -> DeliveryState:
        return replace(self, attempts=(*self.attempts, *attempts)[-KEEP_ATTEMPTS:])


def _whole(value: object) -> int:
    """A count or a seq as bundlectl writes one: a JSON integer, not negative (not true, not 3.5, not "3")."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("not a whole number")
    return value


def _text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("not text")
    return value


def state_name(endpoint: str) -> str:
    return f"webhooks/{endpoint}"


def read_state(storage: Storage, endpoint: str, since: int) -> tuple[str | None, DeliveryState]:
    """The endpoint's state and its token; an endpoint never delivered to starts after the record that subscribed it."""
    pointer = storage.read_state(state_name(endpoint))
    if pointer is None:
        return None, DeliveryState(acked_seq=since)
    state = DeliveryState.from_bytes(pointer.value, endpoint)
    return pointer.token, replace(state, acked_seq=max(state.acked_seq, since)) if state.acked_seq < since else state


def merged(theirs: DeliveryState, mine: DeliveryState, attempts: list[Attempt]) -> DeliveryState:
    """Mine written over theirs, never stepping the acknowledged seq back."""
    if theirs.acked_seq > mine.acked_seq:
        mine = replace(mine, acked_seq=theirs.acked_seq, acked_id=theirs.acked_id, failures=theirs.failures, retry_at=theirs.retry_at)
    return replace(mine, disabled=mine.disabled or theirs.disabled, attempts=theirs.attempts).with_attempts(attempts)


def save_state(storage: Storage, endpoint: str, token: str | None, mine: DeliveryState, attempts: list[Attempt], since: int) -> DeliveryState:
    """Write `mine` (plus `attempts`) by compare-and-swap, merging into whatever another deliverer wrote meanwhile."""
    state = mine.with_attempts(attempts)
    for _ in range(SWAP_ATTEMPTS):
        if storage.swap_state(state_name(endpoint), token, state.to_bytes()):
            return state
        token, theirs = read_state(storage, endpoint, since)
        state = merged(theirs, mine, attempts)
    raise Conflict(
        f"the delivery state of endpoint {endpoint} kept moving ({SWAP_ATTEMPTS} attempts)", "too many deliverers at once; the next run catches up"
    )
