"""One POST to a receiver, bounded by a total deadline (a receiver that trickles or hangs is cut off), never redirected."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from typing import NamedTuple
from urllib.parse import urlsplit

MAX_ANSWER_BYTES = 64 * 1024  # the answer is read only to free the connection; its content is not used


class Answer(NamedTuple):
    status: int | None  # None: no HTTP answer (refused, reset, deadline)
    error: str | None  # why it failed, for `webhooks log`: never the URL (it may be a secret) nor the body
    ms: int

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


def post(url: str, headers: dict[str, str], body: bytes, seconds: float) -> Answer:
    """POST `body` to `url`; whatever the receiver does, this returns within about `seconds`."""
    started = time.monotonic()
    box: list[Answer] = []
    try:
        connection = _connection(url, max(seconds, 0.001))
    except (ValueError, http.client.InvalidURL):  # the message would quote the URL, which may be a secret
        return Answer(None, "the URL is not an http:// or https:// URL with a host and a port from 1 to 65535", 0)
    worker = threading.Thread(target=_exchange, args=(connection, url, headers, body, box, started), daemon=True)
    worker.start()
    worker.join(seconds)
    if not box:
        _abort(connection)
        return Answer(None, f"no answer within {seconds:.3g}s", _ms(started))
    answer = box[0]
    if answer.status is not None and 300 <= answer.status < 400:
        return answer._replace(error=f"answered {answer.status} (a redirect, not followed)")
    if answer.status is not None and not answer.delivered:
        return answer._replace(error=answer.error or f"answered {answer.status}")
    return answer


def _connection(url: str, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if parts.scheme not in ("http", "https") or not host or port == 0:  # a URL read from a variable is checked only here
        raise ValueError("not an http(s) URL")
    if parts.scheme == "https":
        import ssl  # only for https receivers: its import is a cost every write would pay

        return http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    return http.client.HTTPConnection(host, port, timeout=timeout)


def _exchange(connection: http.client.HTTPConnection, url: str, headers: dict[str, str], body: bytes, box: list[Answer], started: float) -> None:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={**headers, "content-length": str(len(body))})
        response = connection.getresponse()
        response.read(MAX_ANSWER_BYTES)
        box.append(Answer(response.status, None, _ms(started)))
    except (OSError, http.client.HTTPException) as exc:
        box.append(Answer(None, _reason(exc), _ms(started)))
    finally:
        connection.close()


def _abort(connection: http.client.HTTPConnection) -> None:
    """Unblock the worker still waiting on the receiver: shut its socket down from here."""
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    return type(exc).__name__


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
