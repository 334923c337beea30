"""OFREP evaluation: the bundle a request's context routes to, as an OFREP object flag (value, variant, reason, metadata).

The flag key is the bundle name; the value describes the bundle (identity, arm, and per component its
inline fields and the digest and URL of each file); `variant` is its version; `reason` is STATIC for the
live bundle, SPLIT when a running canary routed the targetingKey, DISABLED while the environment is paused
(no value: the provider returns the code's default, the service's fallback path).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any
from urllib.parse import quote

from bundlectl.runtime import LiveBundle, Paused
from bundlectl.serve.fleet import Fleet
from bundlectl.serve.replies import JSON, Reply, RequestRefused, ofrep_error

STATIC, SPLIT, DISABLED = "STATIC", "SPLIT", "DISABLED"
PAUSED = "paused"  # the variant while paused: no version is served
PARSE_ERROR, INVALID_CONTEXT, FLAG_NOT_FOUND = "PARSE_ERROR", "INVALID_CONTEXT", "FLAG_NOT_FOUND"
MAX_CONTEXT_FIELDS = 256  # a context is a handful of attributes; thousands are an attack, not targeting
MAX_TARGETING_KEY = 1024
_CACHED = 256  # evaluation bodies kept per server: a few per bundle, arm and reason


@dataclass(frozen=True)
class Context:
    """The part of an OFREP evaluation context the server uses: its targetingKey (None: the live bundle, unrouted)."""

    targeting_key: str | None


def parse_context(body: bytes, key: str | None = None) -> Context:
    """The evaluation request's context, or RequestRefused with OFREP's PARSE_ERROR / INVALID_CONTEXT."""
    try:
        document = json.loads(body) if body else None
    except (ValueError, RecursionError):
        raise RequestRefused(ofrep_error(400, PARSE_ERROR, "the request body is not JSON", key)) from None
    if not isinstance(document, dict):
        raise RequestRefused(ofrep_error(400, PARSE_ERROR, 'the request body must be a JSON object {"context": {…}}', key))
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise RequestRefused(ofrep_error(400, INVALID_CONTEXT, "context must be a JSON object", key))
    if len(context) > MAX_CONTEXT_FIELDS:
        raise RequestRefused(
            ofrep_error(400, INVALID_CONTEXT, f"the context has {len(context)} fields; at most {MAX_CONTEXT_FIELDS} are accepted", key)
        )
    targeting_key = context.get("targetingKey")
    if targeting_key is not None and (not isinstance(targeting_key, str) or len(targeting_key) > MAX_TARGETING_KEY):
        raise RequestRefused(ofrep_error(400, INVALID_CONTEXT, f"targetingKey must be a string of at most {MAX_TARGETING_KEY} characters", key))
    return Context(targeting_key or None)


def file_url(base: str, digest: str, relpath: str) -> str:
    """Where `bundlectl serve` serves a file of a bundle by content (`base`: the public URL prefix, "" for a path)."""
    return f"{base}/v1/bundles/{digest}/files/{quote(relpath)}"


def bundle_value(bundle: LiveBundle, base: str | None) -> dict[str, Any]:
    """The flag's value: what a service needs to use the bundle, files by URL (fetched by digest, cacheable forever).

    `base` None: no URLs (in process, files are read from the runtime's bundle)."""
    components = {}
    for kind, component in sorted(bundle.record.components.items()):
        files: dict[str, dict[str, Any]] = {path: {"digest": entry.digest, "size": entry.size} for path, entry in sorted(component.files.items())}
        if base is not None:
            for path, entry in files.items():
                entry["url"] = file_url(base, bundle.digest, path)
        components[kind] = {"digest": component.digest, "fields": component.fields, "files": files}
    value: dict[str, Any] = {
        "name": bundle.name,
        "version": bundle.version,
        "digest": bundle.digest,
        "env": bundle.env,
        "arm": bundle.arm,
        "pointerVersion": bundle.pointer_version,
        "components": components,
    }
    if bundle.canary is not None:
        value["canary"] = bundle.canary
    return value


def paused_metadata(paused: Paused) -> dict[str, Any]:
    """The stamp of a refusal: which bundle and environment, and the pause's who, when and why."""
    return {
        "bundle.name": paused.name,
        "bundle.env": paused.env,
        "bundle.paused": True,
        "bundle.pause_reason": paused.reason or "",
        "bundle.paused_by": paused.by,
        "bundle.paused_since": paused.since,
    }


class Evaluator:
    """Evaluates flags against the fleet's runtimes (one per bundle name); the bodies of each bundle, arm and reason are cached."""

    def __init__(self, fleet: Fleet, base_url: str = "", answered: Callable[[LiveBundle], None] | None = None) -> None:
        self.fleet, self.base_url, self._answered = fleet, base_url, answered
        self._cache: dict[tuple[Any, ...], bytes] = {}

    def evaluation(self, key: str, context: Context) -> bytes:
        """One flag's OFREP evaluation, encoded (success, or DISABLED while paused); the flag must be served.

        The encoding of each bundle, arm and reason is kept: a request costs a routing hash and a dict lookup."""
        runtime = self.fleet.runtimes[key]
        try:
            bundle = runtime.current(context.targeting_key)
        except Paused as paused:
            # no value (OFREP's codeDefaultFlag): the provider returns the code's default, the service's fallback path
            return _encode({"key": key, "reason": DISABLED, "variant": PAUSED, "metadata": paused_metadata(paused)})
        reason = SPLIT if bundle.canary is not None and context.targeting_key is not None else STATIC
        cache_key = (bundle.name, bundle.env, bundle.digest, bundle.arm, bundle.canary, bundle.pointer_version, reason)
        cached = self._cache.get(cache_key)
        if cached is None:
            if len(self._cache) >= _CACHED:
                self._cache.clear()
            if self._answered is not None:
                self._answered(bundle)
            cached = self._cache[cache_key] = _encode(
                {
                    "key": key,
                    "value": bundle_value(bundle, self.base_url),
                    "reason": reason,
                    "variant": bundle.version,
                    "metadata": dict(bundle.attributes),
                }
            )
        return cached

    def single(self, key: str, body: bytes) -> Reply:
        if key not in self.fleet.runtimes:
            if key in self.fleet.names:
                return not_ready(key)
            return ofrep_error(404, FLAG_NOT_FOUND, f"flag {key[:200]!r} is not served here (serving: {', '.join(self.fleet.names)})", key)
        try:
            context = parse_context(body, key)
        except RequestRefused as refused:
            return refused.reply
        return Reply(200, self.evaluation(key, context))

    def bulk(self, body: bytes, if_none_match: str | None) -> Reply:
        """Every served flag for one context, with an ETag of the answer: unchanged → 304 without a body."""
        try:
            context = parse_context(body)
        except RequestRefused as refused:
            return refused.reply
        if len(self.fleet.runtimes) < len(self.fleet.names):
            return not_ready(None)
        encoded = b'{"flags":[' + b",".join(self.evaluation(key, context) for key in self.fleet.names) + b"]}"
        etag = f'"{sha256(encoded).hexdigest()[:32]}"'
        if if_none_match is not None and etag in (tag.strip().removeprefix("W/") for tag in if_none_match.split(",")):
            return Reply(304, headers={"ETag": etag}, content_type=None)
        return Reply(200, encoded, {"ETag": etag}, JSON)


def not_ready(key: str | None) -> Reply:
    """A flag this server will serve once its runtime holds a verified bundle: try again shortly."""
    return ofrep_error(503, None, f"{key or 'a flag'} has no verified bundle to serve yet (see /readyz)", headers={"Retry-After": "1"})


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()
