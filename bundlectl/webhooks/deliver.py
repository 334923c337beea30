"""`webhooks deliver [--follow]`, `webhooks log` and `webhooks enable`: the outbox worked through, and what it did."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bundlectl.errors import NotFound, UsageProblem
from bundlectl.registry.signatures import checked_index
from bundlectl.webhooks.outbox import DEFAULT_BATCH, DEFAULT_TIMEOUT, Backoff, EndpointRun, LogReader, ahead_of_log, deliver_endpoint
from bundlectl.webhooks.state import DeliveryState, read_state, save_state
from bundlectl.webhooks.subscriptions import Subscription, subscriptions_in_force

if TYPE_CHECKING:
    from bundlectl.storage.base import Storage


@dataclass(frozen=True)
class DeliveryPass:
    head_seq: int
    endpoints: list[EndpointRun]

    @property
    def delivered(self) -> int:
        return sum(run.delivered for run in self.endpoints)

    @property
    def caught_up(self) -> bool:
        return all(run.acked_seq >= self.head_seq or run.disabled for run in self.endpoints)

    def to_json(self) -> dict[str, object]:
        return {"head_seq": self.head_seq, "delivered": self.delivered, "endpoints": [r.to_json() for r in self.endpoints]}


def deliver_pass(storage: Storage, *, timeout: float = DEFAULT_TIMEOUT, batch: int = DEFAULT_BATCH, backoff: Backoff | None = None) -> DeliveryPass:
    """One pass: every endpoint in force gets up to `batch` of the records it has not acknowledged."""
    storage.refresh()
    index = checked_index(storage)
    head = index.head()
    log = LogReader(storage, head)
    runs = [
        deliver_endpoint(storage, subscription, log, timeout=timeout, batch=batch, backoff=backoff)
        for subscription in subscriptions_in_force(index).endpoints.values()
    ]
    return DeliveryPass(head.seq, runs)


def deliver(
    open_storage: Callable[[], Storage],
    *,
    follow: bool = False,
    interval: float = 1.0,
    timeout: float = DEFAULT_TIMEOUT,
    batch: int = DEFAULT_BATCH,
    backoff: Backoff | None = None,
    on_pass: Callable[[DeliveryPass], None] | None = None,
) -> DeliveryPass:
    """Deliver until caught up (or, with `follow`, forever: new records, and retries once their backoff ends). The
    registry (`open_storage()`) is opened once the options are known to be in range."""
    if not 0 < timeout <= 300 or not 0 < interval <= 3600 or batch < 1:
        raise UsageProblem(f"--timeout {timeout} (0–300 s), --interval {interval} (0–3600 s) and --batch {batch} (≥ 1) are out of range")
    storage = open_storage()
    while True:
        done = deliver_pass(storage, timeout=timeout, batch=batch, backoff=backoff)
        if on_pass is not None and (done.delivered or not follow):
            on_pass(done)
        # an endpoint that neither failed nor waits but is still behind stopped at the batch size: go on at once
        progressing = any(r.acked_seq < done.head_seq and not (r.failed or r.waiting_until or r.disabled) for r in done.endpoints)
        if not follow and not progressing:
            return done
        if not progressing:
            time.sleep(interval)


@dataclass(frozen=True)
class EndpointLog:
    subscription: Subscription
    state: DeliveryState
    head_seq: int

    @property
    def problem(self) -> str | None:
        """A state that acknowledges records the log does not hold was not written by a deliverer: nothing is sent."""
        if self.state.acked_seq <= self.head_seq:
            return None
        name = self.subscription.name
        return (
            f"{ahead_of_log(self.state.acked_seq, self.head_seq)}; remove it (git: `git update-ref -d "
            f"refs/bundlectl/state/webhooks/{name}`; S3: the key state/webhooks/{name}) and every record after the "
            "subscription is delivered again, with the same webhook-id"
        )

    def to_json(self) -> dict[str, object]:
        state = self.state
        return {
            **self.subscription.to_json(),
            "acked_seq": state.acked_seq,
            "behind": max(self.head_seq - state.acked_seq, 0),
            "failures": state.failures,
            "retry_at": state.retry_at,
            "disabled": state.disabled,
            "problem": self.problem,
            "attempts": [a.__dict__ for a in state.attempts],
        }


def delivery_log(storage: Storage, endpoint: str | None = None) -> list[EndpointLog]:
    """Each endpoint's state: what it acknowledged, how far behind it is, its latest attempts and failures."""
    index = checked_index(storage)
    endpoints = _chosen(subscriptions_in_force(index).endpoints, endpoint)
    head = index.head().seq
    return [EndpointLog(s, read_state(storage, s.name, s.since)[1], head) for s in endpoints]


def enable(storage: Storage, endpoint: str) -> DeliveryState:
    """Deliver to an endpoint again after a 410 (or now, without waiting for its backoff); it resumes where it stopped."""
    index = checked_index(storage)
    (subscription,) = _chosen(subscriptions_in_force(index).endpoints, endpoint)
    token, state = read_state(storage, subscription.name, subscription.since)
    return save_state(storage, subscription.name, token, replace(state, disabled=None, failures=0, retry_at=None), [], subscription.since)


def _chosen(endpoints: dict[str, Subscription], name: str | None) -> list[Subscription]:
    if name is None:
        return list(endpoints.values())
    if name not in endpoints:
        raise NotFound(f"no webhook endpoint {name!r} is subscribed", f"subscribed: {', '.join(endpoints) or 'none'} (see `bundlectl webhooks show`)")
    return [endpoints[name]]
