"""What a webhook says about a log record (or a notice): `{type, timestamp, data}` and the id receivers deduplicate by.

The id of a logged event is its record's digest, so every delivery of one record, by any deliverer, carries the
same `webhook-id`. The data names the registry, the record (seq, digest, actor, whether signed, reason), the
bundle, and the gate or guard figures the record holds; never a secret (the log holds none).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from bundlectl.digest.canonical import digest_of
from bundlectl.foundation.clock import event_time, parse_time
from bundlectl.registry.events import Event
from bundlectl.webhooks.types import TYPE_OF_ACTION


class Message(NamedTuple):
    id: str  # webhook-id: the record digest (a notice: the digest of its content)
    type: str
    time: str  # when it happened: the record's time
    data: dict[str, Any]
    seq: int | None  # None: a notice, which is in no record
    by_guard: bool

    def body(self, link: str | None) -> dict[str, Any]:
        """The Standard Webhooks body, with the subscriber's link filled in."""
        data = {**self.data, "link": render_link(link, self) if link else None}
        return {"type": self.type, "timestamp": self.time, "data": data}

    @property
    def when(self) -> datetime:
        return parse_time(self.time)


def public_registry(url: str) -> str:
    """The registry URL without credentials (user:token@), as payloads name it."""
    return re.sub(r"^([a-z0-9+.-]+://)[^/@]*@", r"\1", url)


def message_for(event: Event, registry: str) -> Message:
    data = event.data
    payload: dict[str, Any] = {
        "registry": public_registry(registry),
        "seq": event.seq,
        "record_digest": event.hash,
        "action": event.action,
        "actor": event.actor,
        "signed": bool(event.signatures),
        "reason": event.reason,
        "run_url": event.run_url,
        "bundle": _bundle(event),
        **_figures(event),
    }
    return Message(event.hash, TYPE_OF_ACTION.get(event.action, event.action), event.time, payload, event.seq, "guard" in data)


def notice(event_type: str, registry: str, actor: str, reason: str | None, bundle: dict[str, Any], figures: dict[str, Any]) -> Message:
    """A decision that wrote no record (a guard decision not applied, a refused promotion): delivered directly, once."""
    time = event_time()
    payload = {
        "registry": public_registry(registry),
        "seq": None,
        "record_digest": None,
        "action": None,
        "actor": actor,
        "signed": False,
        "reason": reason,
        "run_url": None,
        "bundle": bundle,
        **figures,
    }
    return Message(digest_of({"type": event_type, "time": time, "data": payload}), event_type, time, payload, None, False)


def _bundle(event: Event) -> dict[str, Any] | None:
    data = event.data
    if event.is_move:
        move = event.move()
        previous = {"version": move["from_version"], "digest": move["from_digest"]} if move["from_digest"] else None
        return {"name": move["name"], "version": move["to_version"], "digest": move["to_digest"], "env": move["env"], "previous": previous}
    if event.is_canary:
        canary = event.canary()
        return {
            "name": canary["name"],
            "version": canary["version"],
            "digest": canary["digest"],
            "env": canary["env"],
            "percent": canary["percent"],
            "previous": {"version": canary["live_version"], "digest": canary["live_digest"]},
        }
    if "name" in data and "digest" in data:
        return {"name": data["name"], "version": data.get("version"), "digest": data["digest"], "env": data.get("env")}
    return None


def _figures(event: Event) -> dict[str, Any]:
    data = event.data
    figures: dict[str, Any] = {"gate": data.get("gate"), "guard": data.get("guard")}
    if event.action == "evidence":
        evidence = event.evidence()
        figures["evidence"] = {"kind": evidence["kind"], "source": evidence["source"], "run_at": evidence["run_at"], "figures": evidence["figures"]}
    elif event.action in ("policy", "trust", "webhooks"):
        figures["document_digest"] = data[f"{event.action}_digest"]
        if event.action == "webhooks":
            figures["endpoints"] = sorted(event.webhooks()["webhooks"]["endpoints"])
    if data.get("break_glass"):
        figures["break_glass"] = True
    return figures


def render_link(template: str, message: Message) -> str:
    bundle = message.data.get("bundle") or {}
    values = {
        "name": bundle.get("name"),
        "version": bundle.get("version"),
        "digest": bundle.get("digest"),
        "env": bundle.get("env"),
        "seq": message.seq,
        "type": message.type,
    }
    return re.sub(r"\{(\w+)\}", lambda m: "" if values.get(m.group(1)) is None else str(values[m.group(1)]), template)
