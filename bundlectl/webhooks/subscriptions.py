"""The subscriptions in force, read from the webhooks record of the log, and `webhooks set`, which logs them.

Set like the gate policy: a logged, versioned act (an admins' act once trust is set). The read path is plain
NamedTuples over the stored document, so the post-write hook of every command pays no pydantic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from bundlectl.digest.canonical import digest_of
from bundlectl.errors import IntegrityFailure, NotFound, Refused
from bundlectl.registry.events import WebhooksData
from bundlectl.webhooks.types import matches

if TYPE_CHECKING:
    from bundlectl.registry.index import Index
    from bundlectl.registry.log import Planned
    from bundlectl.storage.base import Storage
    from bundlectl.trust.identity import Acting

MAX_WEBHOOKS_BYTES = 64 * 1024
MAX_SECRET_BYTES = 4096


class SecretRef(NamedTuple):
    env: str | None
    file: str | None

    def describe(self) -> str:
        return f"${self.env}" if self.env else f"file {self.file}"

    def read(self, endpoint: str, what: str) -> str:
        """The value, read now; Refused naming the variable or file, never any value."""
        if self.env:
            value = os.environ.get(self.env, "")
            if not value.strip():
                raise Refused(
                    f"endpoint {endpoint}: its {what} variable {self.env} is not set",
                    f"export {self.env} for every process that delivers (webhooks deliver, the writing command)",
                )
            return value.strip()
        assert self.file is not None
        try:
            with open(self.file, "rb") as handle:  # noqa: PTH123 - one open, then the bytes read through it
                data = handle.read(MAX_SECRET_BYTES + 1)
        except OSError as exc:
            raise Refused(
                f"endpoint {endpoint}: its {what} file {self.file} cannot be read ({exc.strerror})", "check the path and its permissions"
            ) from None
        text = data.decode(errors="replace").strip()
        if not text or len(data) > MAX_SECRET_BYTES:
            raise Refused(f"endpoint {endpoint}: its {what} file {self.file} is empty or too large", f"put the {what} alone in it")
        return text


class Subscription(NamedTuple):
    name: str
    url: str | SecretRef
    events: tuple[str, ...]
    format: str
    secret: SecretRef | None
    link: str | None
    since: int  # the seq of the record that subscribed it: it gets the events after it

    def wants(self, event_type: str, by_guard: bool = False) -> bool:
        return matches(self.events, event_type, by_guard)

    def shown_url(self) -> str:
        """The URL as it may be printed: a URL kept as a secret shows as where it is read from."""
        return self.url if isinstance(self.url, str) else self.url.describe()

    def target(self) -> str:
        return self.url if isinstance(self.url, str) else self.url.read(self.name, "URL")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.shown_url(),
            "events": list(self.events),
            "format": self.format,
            "secret": self.secret.describe() if self.secret else None,
            "link": self.link,
            "since": self.since,
        }


class Subscriptions(NamedTuple):
    endpoints: dict[str, Subscription]
    seq: int | None  # the webhooks record in force; None: never set

    def to_json(self) -> dict[str, Any]:
        """The `webhooks show --json` document."""
        return {"seq": self.seq, "endpoints": [s.to_json() for s in self.endpoints.values()]}

    @classmethod
    def from_record(cls, data: dict[str, Any] | None, seq: int | None) -> Subscriptions:
        if data is None:
            return cls({}, None)
        try:
            since = data["since"]
            return cls({name: _endpoint(name, raw, int(since[name])) for name, raw in data["webhooks"]["endpoints"].items()}, seq)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IntegrityFailure(
                f"the webhooks in force (event {seq}) cannot be read: {exc!r}",
                "run `bundlectl verify`, then store them again with `bundlectl webhooks set`",
            ) from None


def subscriptions_in_force(index: Index) -> Subscriptions:
    data, seq = index.webhooks()
    return Subscriptions.from_record(data, seq)


def show_webhooks(index: Index) -> Subscriptions:
    """`webhooks show`: the subscriptions in force (names of secrets only); NotFound when none were ever set.

    INDEX has its signatures checked (`checked_index`), as a writer's: subscriptions are acted on, and a record the
    admins did not sign is none."""
    subscriptions = subscriptions_in_force(index)
    if subscriptions.seq is None:
        raise NotFound("no webhooks are subscribed", "subscribe endpoints with `bundlectl webhooks set FILE`")
    return subscriptions


def _secret(raw: Any) -> SecretRef | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("env") or raw.get("file"), str):
        raise TypeError("secret reference")
    return SecretRef(raw.get("env"), raw.get("file"))


def _endpoint(name: str, raw: dict[str, Any], since: int) -> Subscription:
    url = raw["url"] if isinstance(raw["url"], str) else _secret(raw["url"])
    assert url is not None
    events = tuple(str(e) for e in raw["events"])
    return Subscription(name, url, events, str(raw["format"]), _secret(raw.get("secret")), raw.get("link"), since)


@dataclass(frozen=True)
class WebhooksResult:
    subscriptions: Subscriptions
    digest: str
    created: bool
    seq: int | None


def record_problem(data: dict[str, Any], seq: int) -> str | None:
    """What is wrong with a logged webhooks record (for `verify`), or None: what `webhooks set` stores, and only that."""
    from pydantic import ValidationError

    from bundlectl.webhooks.model import Webhooks

    try:
        stored = Webhooks.model_validate(data["webhooks"]).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"its webhooks break a rule `bundlectl webhooks set` enforces: {'.'.join(map(str, first['loc']))}: {first['msg']}"
    if stored != data["webhooks"]:
        return "its webhooks are not in the form `bundlectl webhooks set` stores"
    if digest_of(stored) != data["webhooks_digest"]:
        return "its webhooks do not match its webhooks_digest"
    if set(data["since"]) != set(stored["endpoints"]) or any(since > seq for since in data["since"].values()):
        return "its since names other endpoints than it subscribes, or a later record"
    return None


def parse_webhooks(data: bytes, source: str) -> dict[str, Any]:
    """The webhooks file in normal form (every default filled in), as it is logged."""
    from bundlectl.foundation.model_file import load_model_file
    from bundlectl.webhooks.model import Webhooks

    model = load_model_file(data, source, Webhooks, MAX_WEBHOOKS_BYTES, "apiVersion, kind, endpoints", "docs/webhooks.md")
    return model.model_dump(mode="json")


def set_webhooks(storage: Storage, data: bytes, label: str, actor: Acting, reason: str | None = None, *, dry_run: bool = False) -> WebhooksResult:
    """Log the subscriptions in DATA (a no-op when they are in force already); a dry run only validates them."""
    from bundlectl.registry.log import Planned, append
    from bundlectl.registry.read import index_at_head

    document = parse_webhooks(data, label)
    digest = digest_of(document)
    planned: list[WebhooksData] = []

    def plan(index: Index) -> Planned | None:
        current, _ = index.webhooks()
        if current is not None and current["webhooks_digest"] == digest:
            return None
        before = current["since"] if current is not None else {}
        mine = index.head().seq + 1  # the seq this record gets: the plan runs again if another writer comes first
        since = {name: int(before.get(name, mine)) for name in document["endpoints"]}
        planned[:] = [WebhooksData(webhooks=document, webhooks_digest=digest, since=since)]
        return Planned("webhooks", planned[0])

    index = index_at_head(storage)
    if dry_run or plan(index) is None:
        data_now = dict(planned[0]) if planned else index.webhooks()[0]
        return WebhooksResult(Subscriptions.from_record(data_now, None), digest, False, None)
    event = append(storage, plan, actor, reason)
    if event is None:
        return WebhooksResult(subscriptions_in_force(index_at_head(storage)), digest, False, None)
    return WebhooksResult(Subscriptions.from_record(event.data, event.seq), digest, True, event.seq)
