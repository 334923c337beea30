"""Outcomes from any language: `POST /v1/outcomes` takes a batch of what `Runtime.record()` takes.

    {"outcomes": [{"key": "support-triage", "requestId": "req-1", "targetingKey": "user-42",
                   "digest": "sha256:…", "outcome": {"ok": true, "escalated": false, "latency_ms": 812}}]}

The arm is never the client's word: the server routes the targetingKey itself and records under the bundle
it routes to; a batch naming another digest or arm is refused whole, as is one with a value `record()`
refuses. Nothing is written unless every outcome in the batch is accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bundlectl.errors import BundlectlError
from bundlectl.runtime import LiveBundle, Paused, Runtime
from bundlectl.runtime.tallies import outcome_values
from bundlectl.serve.evaluation import INVALID_CONTEXT, MAX_TARGETING_KEY, PARSE_ERROR
from bundlectl.serve.replies import Reply, RequestRefused, json_reply, ofrep_error

MAX_BATCH = 1000
MAX_METRICS = 32
MAX_METRIC_NAMES = 64  # distinct metric names counted per bundle name: each is a series in memory and in /metrics
_METRIC = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FIELDS = {"key", "requestId", "targetingKey", "digest", "arm", "outcome"}
_RESERVED = {"bundle", "request_id"}  # record()'s own parameters: never a metric name


@dataclass(frozen=True)
class Outcome:
    """One accepted outcome: the runtime that records it, the bundle the server routed it to, the checked values."""

    runtime: Runtime
    request_id: str | None
    bundle: LiveBundle
    values: dict[str, Any]  # record()'s keyword arguments: checked by outcome_values


def _refuse(index: int, why: str, code: str = INVALID_CONTEXT, status: int = 400) -> RequestRefused:
    return RequestRefused(ofrep_error(status, code, f"outcomes[{index}]: {why}; nothing was recorded"))


def _optional_text(item: Mapping[str, Any], field: str, index: int) -> str | None:
    value = item.get(field)
    if value is not None and (not isinstance(value, str) or not value or len(value) > MAX_TARGETING_KEY):
        raise _refuse(index, f"{field} must be a non-empty string of at most {MAX_TARGETING_KEY} characters")
    return value


def accept(item: Any, index: int, runtimes: Mapping[str, Runtime]) -> Outcome:
    """One outcome checked against the server's own routing; RequestRefused says which and why."""
    if not isinstance(item, dict):
        raise _refuse(index, "is not a JSON object", PARSE_ERROR)
    unknown = set(item) - _FIELDS
    if unknown:
        raise _refuse(index, f"unknown fields {sorted(unknown)} (known: {sorted(_FIELDS)})")
    key = item.get("key")
    if not isinstance(key, str) or key not in runtimes:
        raise _refuse(index, f"flag {key!r} is not served here", "FLAG_NOT_FOUND", 404)
    request_id, targeting_key = _optional_text(item, "requestId", index), _optional_text(item, "targetingKey", index)
    runtime = runtimes[key]
    try:
        bundle = runtime.current(targeting_key)
    except Paused as paused:
        raise _refuse(index, f"{paused.message}: outcomes are not recorded while paused", status=409) from None
    if "arm" in item and item["arm"] != bundle.arm:
        raise _refuse(
            index,
            f"arm {item['arm']!r} is not the arm this server routes that targetingKey to ({bundle.arm}); "
            "the arm is the server's routing, never the client's",
            status=403,
        )
    if item.get("digest") != bundle.digest:
        raise _refuse(
            index,
            f"digest {item.get('digest')!r} is not the bundle this server routes that targetingKey to "
            f"({bundle.digest}); record outcomes with the digest the evaluation returned",
            status=409,
        )
    fields = item.get("outcome")
    if not isinstance(fields, dict) or not fields or len(fields) > MAX_METRICS:
        raise _refuse(index, f"outcome must be a JSON object of 1 to {MAX_METRICS} metrics")
    bad = [name for name in fields if not isinstance(name, str) or not _METRIC.fullmatch(name) or name in _RESERVED]
    if bad:
        raise _refuse(index, f"{bad[0]!r} is not a metric name (lowercase letters, digits and _)")
    standard = {name: fields.get(name) for name in ("ok", "escalated", "schema_valid", "latency_ms", "cost_usd")}
    others = {name: value for name, value in fields.items() if name not in standard}
    try:
        values = outcome_values(**standard, metrics=others)
    except BundlectlError as exc:
        raise _refuse(index, exc.message.removeprefix("record(): ")) from None
    if not values:
        raise _refuse(index, "outcome has no value (null is not a value)")
    return Outcome(runtime, request_id, bundle, values)


def record_batch(body: bytes, runtimes: Mapping[str, Runtime]) -> Reply:
    """Check every outcome of the batch, then record them all (request log and Prometheus tallies), or none."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ofrep_error(400, PARSE_ERROR, "the request body is not JSON")
    batch = document.get("outcomes") if isinstance(document, dict) else None
    if not isinstance(batch, list) or not 0 < len(batch) <= MAX_BATCH:
        return ofrep_error(400, PARSE_ERROR, f'the body must be {{"outcomes": [...]}} with 1 to {MAX_BATCH} outcomes')
    try:
        accepted = [accept(item, index, runtimes) for index, item in enumerate(batch)]
    except RequestRefused as refused:
        return refused.reply
    for runtime in {id(outcome.runtime): outcome.runtime for outcome in accepted}.values():
        names = runtime.tallies.metric_names() | {name for o in accepted if o.runtime is runtime for name in o.values}
        if len(names) > MAX_METRIC_NAMES:
            return ofrep_error(
                400,
                INVALID_CONTEXT,
                f"{runtime.name} would count {len(names)} metric names; at most "
                f"{MAX_METRIC_NAMES} are kept per bundle (a new name per outcome is not a metric); nothing was recorded",
            )
    for outcome in accepted:
        outcome.runtime.record(outcome.request_id, bundle=outcome.bundle, **outcome.values)
    return json_reply(202, {"recorded": len(accepted)})
