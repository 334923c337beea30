"""The three wire formats: Standard Webhooks 1.0, CloudEvents 1.0 structured mode with CDEvents types, and Slack.

Standard Webhooks and CloudEvents requests are signed by the `standardwebhooks` library (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`); a Slack incoming
webhook is authenticated by its secret URL and takes no signature.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bundlectl.errors import Refused
from bundlectl.webhooks.payload import Message, render_link

USER_AGENT = "bundlectl-webhooks/1"
CDEVENTS_VERSION = "0.4.1"
# deployment acts as CDEvents (https://cdevents.dev, service events); the rest keep bundlectl's own type
CDEVENT_OF_TYPE = {
    "bundle.promoted": "dev.cdevents.service.deployed.0.2.0",
    "bundle.rolled_back": "dev.cdevents.service.rolledback.0.2.0",
    "canary.started": "dev.cdevents.service.deployed.0.2.0",
    "canary.rolled_back": "dev.cdevents.service.rolledback.0.2.0",
}


class Request(NamedTuple):
    headers: dict[str, str]
    body: bytes


def render(fmt: str, message: Message, link: str | None, secret: str | None, now: datetime | None = None) -> Request:
    """The request for one endpoint: its format, its link, signed with its secret (not slack)."""
    if fmt == "slack":
        return Request({"content-type": "application/json", "user-agent": USER_AGENT}, _json(slack_message(message, link)))
    if fmt == "cloudevents":
        headers, body = {"content-type": "application/cloudevents+json"}, _json(cloud_event(message, link))
    else:
        headers, body = {"content-type": "application/json"}, _json(message.body(link))
    assert secret is not None, "signed formats have a secret"
    return Request({**headers, "user-agent": USER_AGENT, **signed_headers(secret, message.id, body, now)}, body)


def signed_headers(secret: str, message_id: str, body: bytes, now: datetime | None = None) -> dict[str, str]:
    try:
        from standardwebhooks.webhooks import Webhook
    except ImportError:
        raise Refused(
            "signing webhooks needs the standardwebhooks package", "install it where bundlectl delivers: pip install 'bundlectl[webhooks]'"
        ) from None
    when = (now or datetime.now(UTC)).replace(microsecond=0)
    try:
        signature = Webhook(secret).sign(message_id, when, body.decode())
    except Exception as exc:  # the library's errors for a malformed secret (binascii.Error, its own): never the value
        raise Refused(
            f"the secret is not a Standard Webhooks secret ({type(exc).__name__})", "give a whsec_ secret: whsec_ and base64 of 24 to 64 random bytes"
        ) from None
    return {"webhook-id": message_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature}


def cloud_event(message: Message, link: str | None) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured mode; deployment acts carry a CDEvent as their data."""
    source = message.data["registry"]
    body = message.body(link)
    cdevent = CDEVENT_OF_TYPE.get(message.type)
    data: dict[str, Any] = body
    if cdevent is not None:
        bundle = message.data["bundle"] or {}
        data = {
            "context": {"version": CDEVENTS_VERSION, "id": message.id, "source": source, "type": cdevent, "timestamp": message.time},
            "subject": {
                "id": f"{bundle.get('env')}/{bundle.get('name')}",
                "source": source,
                "content": {
                    "environment": {"id": bundle.get("env"), "source": source},
                    "artifactId": f"pkg:generic/{bundle.get('name')}@{bundle.get('version')}?checksum={bundle.get('digest')}",
                },
            },
            "customData": body,
            "customDataContentType": "application/json",
        }
    return {
        "specversion": "1.0",
        "id": message.id,
        "source": source,
        "type": cdevent or f"dev.bundlectl.{message.type}",
        "time": message.time,
        "datacontenttype": "application/json",
        "subject": _subject(message),
        "data": data,
    }


def slack_message(message: Message, link: str | None) -> dict[str, Any]:
    """One line a person reads in a channel, with the link when the subscriber set one."""
    data, bundle = message.data, message.data.get("bundle") or {}
    what = f"{bundle.get('name')}@{bundle.get('version')}" if bundle else ""
    where = f" in {bundle['env']}" if bundle.get("env") else ""
    decision = (data.get("guard") or {}).get("decision") or (data.get("decision"))
    text = f"*{message.type}* {what}{where} by {_slack_text(data.get('actor'))}"
    if decision:
        text += f" (guard: {decision})"
    if data.get("reason"):
        text += f": {_slack_text(data['reason'])}"
    if link:
        text += f" <{render_link(link, message)}|details>"
    return {"text": text.strip()}


def _slack_text(value: object) -> str:
    """Text anyone who writes a record chose (a reason, an actor's claim), as plain text in Slack: its control
    sequences (`<!channel>`, `<https://…|label>`) would otherwise ping the channel or show a link under any label."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _subject(message: Message) -> str | None:
    bundle = message.data.get("bundle")
    return f"{bundle.get('name')}@{bundle.get('version')}" if bundle else None


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
