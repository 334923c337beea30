"""What a handler answers: status, headers and body bytes, independent of the HTTP server that sends them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = JSON


def json_reply(status: int, document: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(document, separators=(",", ":")).encode(), headers or {})


def ofrep_error(status: int, code: str | None, details: str, key: str | None = None, headers: dict[str, str] | None = None) -> Reply:
    """OFREP's error shapes: `evaluationFailure` / `flagNotFound` with a key, `bulkEvaluationFailure` without one,
    and `generalErrorResponse` (errorDetails only) when there is no error code to give (401, 403, 429, 5xx)."""
    document: dict[str, Any] = {}
    if key is not None:
        document["key"] = key
    if code is not None:
        document["errorCode"] = code
    document["errorDetails"] = details
    return json_reply(status, document, headers)


class RequestRefused(Exception):
    """A request refused before it did anything: carries the reply that says why."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply
