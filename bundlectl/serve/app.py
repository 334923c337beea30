"""The HTTP side of `bundlectl serve`: an ASGI application (run by uvicorn) routing to the evaluator, files and outcomes.

A plain ASGI callable rather than a framework's router: six fixed routes, and every byte of a request body
counted against its limit before it is parsed (benchmarks/serve.py measures it against a constant endpoint).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bundlectl.serve.auth import READ, RECORD, Authorizer
from bundlectl.serve.evaluation import PARSE_ERROR, Evaluator
from bundlectl.serve.files import FileReply, FileStore, open_verified
from bundlectl.serve.fleet import Fleet
from bundlectl.serve.outcomes import record_batch
from bundlectl.serve.replies import Reply, json_reply, ofrep_error

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

EVALUATE = "/ofrep/v1/evaluate/flags"
FILES = "/v1/bundles/"
_CHUNK = 256 * 1024


class TooLarge(Exception):
    pass


def configuration(poll_interval: float) -> dict[str, Any]:
    """What this server supports, in the shape of OFREP's configuration extension: object flags, polling."""
    return {
        "name": "bundlectl",
        "capabilities": {
            "cacheInvalidation": {"polling": {"enabled": True, "minPollingIntervalMs": int(poll_interval * 1000)}},
            "flagEvaluation": {"supportedTypes": ["object"]},
        },
    }


class ServeApp:
    def __init__(
        self,
        fleet: Fleet,
        authorizer: Authorizer,
        *,
        base_url: str = "",
        max_body: int = 64 * 1024,
        max_outcomes_body: int = 1024 * 1024,
        max_in_flight: int = 1024,
        body_timeout: float = 10.0,
    ) -> None:
        self.fleet, self.authorizer = fleet, authorizer
        self.files = FileStore(fleet)
        self.evaluator = Evaluator(fleet, base_url, answered=self.files.remember)
        self.max_body, self.max_outcomes_body, self.max_in_flight = max_body, max_outcomes_body, max_in_flight
        self.body_timeout = body_timeout  # seconds a request body may take to arrive whole: a slow body holds a slot
        self.in_flight = 0
        self._configuration = json_reply(200, configuration(fleet.settings.poll_interval))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] in ("/healthz", "/readyz"):  # probes answer at once, even with every slot taken
            await _send(send, await self._route(scope, receive), scope)
            return
        if self.in_flight >= self.max_in_flight:
            await _send(send, ofrep_error(429, None, "too many requests at once", headers={"Retry-After": "1"}), scope)
            return
        self.in_flight += 1
        try:
            await _send(send, await self._route(scope, receive), scope)
        finally:
            self.in_flight -= 1

    async def _route(self, scope: Scope, receive: Receive) -> Reply:
        method, path = scope["method"], scope["path"]
        headers = _headers(scope)
        if path == "/healthz":
            return json_reply(200, {"status": "alive"})
        if path == "/readyz":
            return self._readiness()
        if method == "POST" and path == "/v1/outcomes":
            return self.authorizer.refusal(headers.get("authorization"), RECORD) or await self._with_body(
                receive, headers, self.max_outcomes_body, lambda body: record_batch(body, self.fleet.runtimes)
            )
        refusal = self.authorizer.refusal(headers.get("authorization"), READ)
        if refusal is not None:
            return refusal
        if method == "POST" and path.startswith(EVALUATE):
            if path == EVALUATE:
                return await self._with_body(receive, headers, self.max_body, lambda body: self.evaluator.bulk(body, headers.get("if-none-match")))
            if path.startswith(EVALUATE + "/"):
                key = path[len(EVALUATE) + 1 :]
                return await self._with_body(receive, headers, self.max_body, lambda body: self.evaluator.single(key, body))
        if method in ("GET", "HEAD"):
            if path.startswith(FILES):
                digest, marker, relpath = path[len(FILES) :].partition("/files/")
                if marker:
                    return self.files.reply(digest, relpath, headers.get("range"), headers.get("if-none-match"))
            if path == "/ofrep/v1/configuration":
                return self._configuration
            if path == "/metrics":
                return self._metrics()
        return ofrep_error(404 if method in ("GET", "HEAD", "POST") else 405, None, f"no {method} {path[:200]} here")

    async def _with_body(self, receive: Receive, headers: dict[str, str], limit: int, handle: Callable[[bytes], Reply]) -> Reply:
        try:
            body = await asyncio.wait_for(_read_body(receive, headers, limit), self.body_timeout)
        except TooLarge:
            return ofrep_error(413, PARSE_ERROR, f"the request body is larger than {limit} bytes")
        except TimeoutError:  # a client that declares a body and trickles it (or never sends it) keeps no slot
            return ofrep_error(408, None, f"the request body did not arrive within {self.body_timeout:g} s", headers={"Connection": "close"})
        return handle(body)

    def _readiness(self) -> Reply:
        waiting = self.fleet.not_ready()
        serving = {name: [bundle.version for bundle in runtime.held()] for name, runtime in self.fleet.runtimes.items()}
        document: dict[str, Any] = {"ready": not waiting, "serving": serving}
        if waiting:
            document["waiting"] = waiting
        problems = self.fleet.problems()
        if problems:
            document["problems"] = problems
        return json_reply(200 if not waiting else 503, document)

    def _metrics(self) -> Reply:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        from bundlectl.runtime.prometheus import OutcomeCollector

        registry = CollectorRegistry(auto_describe=False)
        for runtime in self.fleet.runtimes.values():
            registry.register(OutcomeCollector(runtime))
        return Reply(200, generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def _read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    """The whole body, refused as soon as it (or its declared length) passes `limit`: never buffered past it."""
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, reply: Reply, scope: Scope) -> None:
    handle = None
    if isinstance(reply, FileReply) and reply.path is not None and reply.status != 304:
        handle = await asyncio.to_thread(open_verified, reply.path, reply.digest, reply.size)  # may hash: off the loop
        if handle is None:
            logging.getLogger("bundlectl.serve").warning(
                "the local copy %s is not the verified file %s any more (replaced in the cache folder?): not served", reply.path, reply.digest
            )
            reply = ofrep_error(503, None, "the local copy of this file no longer matches its digest; it is not served", headers={"Retry-After": "1"})
    try:
        await _send_reply(send, reply, scope, handle)
    finally:
        if handle is not None:
            handle.close()


async def _send_reply(send: Send, reply: Reply, scope: Scope, handle: io.FileIO | None) -> None:
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers.items()]
    if reply.content_type is not None:
        headers.append((b"content-type", reply.content_type.encode()))
    length = reply.length if isinstance(reply, FileReply) and handle is not None else len(reply.body)
    if reply.status != 304:
        headers.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if scope["method"] == "HEAD" or reply.status == 304:
        await send({"type": "http.response.body", "body": b""})
    elif isinstance(reply, FileReply) and handle is not None:
        await _send_file(send, reply, handle)
    else:
        await send({"type": "http.response.body", "body": reply.body})


async def _send_file(send: Send, reply: FileReply, handle: io.FileIO) -> None:
    """A large file's range in chunks, from its verified local copy (opened once and checked: read through that descriptor)."""
    handle.seek(reply.offset)
    left = reply.length
    while left > 0:
        chunk = handle.read(min(_CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
    if left > 0:  # the copy shrank under us: end the body; the client sees a short read, never other bytes
        await send({"type": "http.response.body", "body": b""})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
