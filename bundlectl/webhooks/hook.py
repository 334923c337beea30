"""The quick attempt after a write, and notices: delivery from the writing command, bounded by a small deadline.

After a record is stored, each endpoint that wants it and is not far behind gets its unacknowledged records
at once, every endpoint in its own thread; the command waits at most the deadline (BUNDLECTL_WEBHOOK_DEADLINE,
default 1 s), then goes on. A receiver that is slower is left to `bundlectl webhooks deliver`: nothing it
misses is lost, since the log is the outbox. Storage is read and written only in the command's own thread.

A notice (a guard decision not applied, a promotion the gate refused) is in no record: it is delivered the same
way, once, and its attempts are shown by `webhooks log`; there is nothing to redeliver it from.
"""

from __future__ import annotations

import os
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from bundlectl.errors import BundlectlError
from bundlectl.webhooks.subscriptions import Subscription, subscriptions_in_force

if TYPE_CHECKING:
    from collections.abc import Callable

    from bundlectl.registry.events import Event
    from bundlectl.registry.index import Index
    from bundlectl.storage.base import Storage
    from bundlectl.webhooks.outbox import EndpointRun
    from bundlectl.webhooks.payload import Message
    from bundlectl.webhooks.state import Attempt

Result = TypeVar("Result")
DEFAULT_DEADLINE = 1.0  # seconds a write may wait for its receivers
QUICK_BACKLOG = 20  # an endpoint further behind than this is the deliverer's


def deadline_seconds() -> float:
    try:
        return max(0.0, min(float(os.environ.get("BUNDLECTL_WEBHOOK_DEADLINE", DEFAULT_DEADLINE)), 30.0))
    except ValueError:
        return DEFAULT_DEADLINE


def install() -> None:
    """Make every write of this process try its webhooks (once; api.py calls it before a write)."""
    from bundlectl.registry.log import AFTER_APPEND

    if after_write not in AFTER_APPEND:
        AFTER_APPEND.append(after_write)


def after_write(storage: Storage, index: Index, event: Event) -> None:
    """The quick attempt; whatever goes wrong, the write stands and the deliverer catches up."""
    try:
        _quick_attempt(storage, index, event)
    except (BundlectlError, OSError):
        pass


def _quick_attempt(storage: Storage, index: Index, event: Event) -> list[EndpointRun]:
    subscriptions = subscriptions_in_force(index)
    if not subscriptions.endpoints:  # the common case: one read of the index, nothing imported
        return []
    from bundlectl.registry.rows import IndexHead
    from bundlectl.webhooks.http import Answer
    from bundlectl.webhooks.outbox import Backoff, LogReader, Outcome, Pending, now, plan, send, settle
    from bundlectl.webhooks.payload import message_for
    from bundlectl.webhooks.state import Attempt

    deadline = time.monotonic() + deadline_seconds()
    message = message_for(event, storage.url)
    wanted = [s for s in subscriptions.endpoints.values() if event.seq > s.since and s.wants(message.type, message.by_guard)]
    if not wanted:
        return []
    log = LogReader(storage, IndexHead(event.id, event.seq, event.hash))
    log.known(event)
    pendings = [p for p in (plan(storage, s, log, QUICK_BACKLOG, now(), QUICK_BACKLOG) for s in wanted) if isinstance(p, Pending)]
    outcomes = _in_threads([partial(send, p, storage.url, deadline_seconds(), "write", deadline) for p in pendings], deadline)
    # an endpoint still busy at the deadline failed, as far as the write knows: it backs off, so the next writes do
    # not wait for it again, and the deliverer sends again what it may not have received (the same webhook-id)
    late = f"no answer within the write's {deadline_seconds():g}s deadline"
    missed = Outcome(
        None,
        [Attempt(event.seq, message.id, message.type, now().isoformat(), None, late, int(deadline_seconds() * 1000), "write")],
        Answer(None, late, 0),
    )
    return [settle(storage, p, o or missed, Backoff.from_environment(), now()) for p, o in zip(pendings, outcomes, strict=True)]


def deliver_notice(storage: Storage, index: Index, message: Message) -> list[Attempt]:
    """Send a notice to every endpoint that wants it, within the deadline; its attempts go to each endpoint's log."""
    from bundlectl.webhooks.outbox import now
    from bundlectl.webhooks.state import Attempt, read_state, save_state

    deadline = time.monotonic() + deadline_seconds()
    wanted = [s for s in subscriptions_in_force(index).endpoints.values() if s.wants(message.type)]
    answers = _in_threads([partial(_notice_to, s, message, deadline) for s in wanted], deadline)
    attempts = []
    for subscription, attempt in zip(wanted, answers, strict=True):
        attempt = attempt or Attempt(
            None, message.id, message.type, now().isoformat(), None, "no answer within the deadline", int(deadline_seconds() * 1000), "notice"
        )
        attempts.append(attempt)
        try:
            token, state = read_state(storage, subscription.name, subscription.since)
            save_state(storage, subscription.name, token, state, [attempt], subscription.since)
        except BundlectlError:
            pass  # the notice went out (or not); only its line in `webhooks log` is missing
    return attempts


def _notice_to(subscription: Subscription, message: Message, deadline: float) -> Attempt:
    from bundlectl.webhooks.outbox import now, post_message
    from bundlectl.webhooks.state import Attempt

    started = now().isoformat()
    try:
        target = (subscription.target(), subscription.secret.read(subscription.name, "secret") if subscription.secret else None)
        answer = post_message(subscription, message, target, max(deadline - time.monotonic(), 0.001))
    except BundlectlError as exc:
        return Attempt(None, message.id, message.type, started, None, exc.message, 0, "notice")
    return Attempt(None, message.id, message.type, started, answer.status, answer.error, answer.ms, "notice")


def _in_threads(jobs: list[Callable[[], Result]], deadline: float) -> list[Result | None]:
    """Run each job in its own daemon thread; the results of those done by the deadline (None for the others)."""
    results: list[Result | None] = [None] * len(jobs)

    def run(i: int, job: Callable[[], Result]) -> None:
        results[i] = job()

    threads = [threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    return list(results)
