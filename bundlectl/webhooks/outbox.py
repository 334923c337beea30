"""The log as the outbox: every endpoint gets the records after the one it acknowledged, in log order, at least once.

One delivery to one endpoint is three steps: `plan` reads its state and the records it has not acknowledged
(storage, the caller's thread), `send` posts them in order until one fails (HTTP only, safe in any thread,
bounded by a deadline), and `settle` writes the new state by compare-and-swap (storage again). A record the
endpoint does not subscribe to is acknowledged without a request; a failure stops the endpoint there (order
matters more than progress) and backs it off exponentially, with jitter; `410 Gone` disables it.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from bundlectl.errors import BundlectlError
from bundlectl.foundation.clock import parse_time
from bundlectl.registry.events import Event, parse_event
from bundlectl.webhooks.formats import render
from bundlectl.webhooks.http import Answer, post
from bundlectl.webhooks.payload import Message, message_for
from bundlectl.webhooks.state import Attempt, DeliveryState, read_state, save_state
from bundlectl.webhooks.subscriptions import Subscription

if TYPE_CHECKING:
    from bundlectl.registry.rows import IndexHead
    from bundlectl.storage.base import Storage, StoredEvent

DEFAULT_TIMEOUT = 10.0  # seconds one request may take in `webhooks deliver`
DEFAULT_BATCH = 100  # records per endpoint per pass


@dataclass(frozen=True)
class Backoff:
    """How long an endpoint rests after failures in a row: base·2^(n-1), at most `cap`, times a jitter in [½, 1]."""

    base: float = 2.0
    cap: float = 3600.0

    @classmethod
    def from_environment(cls) -> Backoff:
        return cls(float(os.environ.get("BUNDLECTL_WEBHOOK_BACKOFF", "2")))

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.base * 2.0 ** max(failures - 1, 0)) * random.uniform(0.5, 1.0))


class Pending(NamedTuple):
    subscription: Subscription
    token: str | None
    state: DeliveryState
    events: list[Event]


class Outcome(NamedTuple):
    acked: Event | None  # the last record acknowledged (delivered, or not subscribed to)
    attempts: list[Attempt]
    answer: Answer | None  # the failing answer (or why no request could be made), when one failed


@dataclass(frozen=True)
class EndpointRun:
    endpoint: str
    delivered: int
    acked_seq: int
    failed: str | None = None  # why the endpoint stopped short
    disabled: str | None = None
    waiting_until: str | None = None  # backing off: nothing was tried

    def to_json(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "delivered": self.delivered,
            "acked_seq": self.acked_seq,
            "failed": self.failed,
            "disabled": self.disabled,
            "waiting_until": self.waiting_until,
        }


class LogReader:
    """The records after a seq, read from the backend once per pass and shared by every endpoint."""

    def __init__(self, storage: Storage, head: IndexHead) -> None:
        self.storage, self.head = storage, head
        self._events: dict[int, Event] = {}

    def known(self, event: Event) -> None:
        """A record the caller holds already (the one just written): no need to read it back."""
        self._events[event.seq] = event

    def after(self, seq: int, event_id: str | None, limit: int) -> list[Event]:
        if seq >= self.head.seq or self.head.id is None:
            return []
        if seq + 1 not in self._events and event_id:
            self._read(self.storage.events_after(event_id, self.head.id) or [], seq)
        if seq + 1 not in self._events:
            # never acknowledged by id, the id is gone, or it is not the record at `seq` (a state written by hand):
            # read from the start, keep what is after; the seq is what the state acknowledged, the id only a shortcut
            self._read(self.storage.events_after(None, self.head.id) or [], seq)
        found = []
        for wanted in range(seq + 1, min(self.head.seq, seq + limit) + 1):
            if wanted not in self._events:  # never skip a record: what follows a gap waits for it
                break
            found.append(self._events[wanted])
        return found

    def _read(self, stored: list[StoredEvent], seq: int) -> None:
        for record in stored:
            event = parse_event(record)
            if event.seq > seq:
                self._events[event.seq] = event


def plan(
    storage: Storage, subscription: Subscription, log: LogReader, batch: int, now: datetime, max_behind: int | None = None
) -> Pending | EndpointRun:
    """What this endpoint has not acknowledged, or why nothing is sent to it now (`max_behind`: unless it is further behind)."""
    token, state = read_state(storage, subscription.name, subscription.since)
    if state.acked_seq > log.head.seq:
        return EndpointRun(subscription.name, 0, state.acked_seq, failed=ahead_of_log(state.acked_seq, log.head.seq))
    if max_behind is not None and log.head.seq - state.acked_seq > max_behind:
        return EndpointRun(subscription.name, 0, state.acked_seq, failed=f"{log.head.seq - state.acked_seq} records behind")
    if state.disabled:
        return EndpointRun(subscription.name, 0, state.acked_seq, disabled=state.disabled)
    # no deliverer backs off longer than the cap: a later retry time was written by hand, and would silence the endpoint
    if state.retry_at and now < parse_time(state.retry_at) <= now + timedelta(seconds=2 * Backoff.cap):
        return EndpointRun(subscription.name, 0, state.acked_seq, waiting_until=state.retry_at)
    return Pending(subscription, token, state, log.after(state.acked_seq, state.acked_id, batch))


def ahead_of_log(acked_seq: int, head_seq: int) -> str:
    """Why an endpoint whose state acknowledges records the log does not hold gets nothing (a state written by hand)."""
    return (
        f"its delivery state says event {acked_seq} was acknowledged, but the log ends at event {head_seq}; "
        "nothing is sent until the state is repaired (`bundlectl webhooks log` names the fix)"
    )


def send(pending: Pending, registry: str, timeout: float, by: str, deadline: float | None = None) -> Outcome:
    """Post the endpoint's records in order until one fails or the deadline (time.monotonic()) passes."""
    subscription = pending.subscription
    acked: Event | None = None
    attempts: list[Attempt] = []
    target: tuple[str, str | None] | None = None
    for event in pending.events:
        message = message_for(event, registry)
        if not subscription.wants(message.type, message.by_guard):
            acked = event
            continue
        seconds = timeout if deadline is None else min(timeout, deadline - time.monotonic())
        if seconds <= 0:
            break
        try:
            target = target or (subscription.target(), subscription.secret.read(subscription.name, "secret") if subscription.secret else None)
            answer = post_message(subscription, message, target, seconds)
        except BundlectlError as exc:  # no request was made: the secret or the URL cannot be read, or signing failed
            problem = exc.message if exc.message.startswith("endpoint ") else f"endpoint {subscription.name}: {exc.message}"
            answer = Answer(None, problem, 0)
        attempts.append(_attempt(message, answer, by))
        if not answer.delivered:
            return Outcome(acked, attempts, answer)
        acked = event
    return Outcome(acked, attempts, None)


def post_message(subscription: Subscription, message: Message, target: tuple[str, str | None], seconds: float) -> Answer:
    url, secret = target
    request = render(subscription.format, message, subscription.link, secret)
    return post(url, request.headers, request.body, seconds)


def settle(storage: Storage, pending: Pending, outcome: Outcome, backoff: Backoff, now: datetime) -> EndpointRun:
    """Write what happened into the endpoint's state (compare-and-swap), and say it."""
    subscription, state = pending.subscription, pending.state
    delivered = sum(1 for a in outcome.attempts if a.status is not None and 200 <= a.status < 300)
    if outcome.acked is not None:
        state = replace(state, acked_seq=outcome.acked.seq, acked_id=outcome.acked.id, failures=0, retry_at=None)
    failed = outcome.answer.error if outcome.answer else None
    disabled = None
    if outcome.answer is not None and outcome.answer.gone:
        disabled = f"410 Gone at {now.isoformat()}: the receiver asked to stop; `bundlectl webhooks enable {subscription.name}`"
        state = replace(state, disabled=disabled)
    elif failed:
        failures = state.failures + 1
        retry = now + timedelta(seconds=backoff.delay(failures))
        state = replace(state, failures=failures, retry_at=retry.isoformat())
    if state != pending.state or outcome.attempts:
        state = save_state(storage, subscription.name, pending.token, state, outcome.attempts, subscription.since)
    return EndpointRun(subscription.name, delivered, state.acked_seq, failed, disabled)


def deliver_endpoint(
    storage: Storage,
    subscription: Subscription,
    log: LogReader,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    batch: int = DEFAULT_BATCH,
    backoff: Backoff | None = None,
    by: str = "deliver",
) -> EndpointRun:
    started = now()
    pending = plan(storage, subscription, log, batch, started)
    if isinstance(pending, EndpointRun):
        return pending
    if not pending.events:
        return EndpointRun(subscription.name, 0, pending.state.acked_seq)
    outcome = send(pending, storage.url, timeout, by)
    return settle(storage, pending, outcome, backoff or Backoff.from_environment(), now())


def now() -> datetime:
    return datetime.now(UTC)


def _attempt(message: Message, answer: Answer, by: str) -> Attempt:
    return Attempt(message.seq, message.id, message.type, now().isoformat(), answer.status, answer.error, answer.ms, by)
