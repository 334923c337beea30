"""A real HTTP receiver on loopback that verifies nothing itself: tests verify what it got with `standardwebhooks`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Workspace
from tests.trust.conftest import keys  # noqa: F401 - the SSH keys fixture, for subscriptions under trust

SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3ODk="  # base64 of a test key
OTHER_SECRET = "whsec_" + "YW5vdGhlci1zZWNyZXQtZm9yLXRlc3RzLTk4NzY1NDM="


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verified(self, secret: str = SECRET) -> Any:
        from standardwebhooks.webhooks import Webhook

        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    """Answers `status` (or hangs when `hang`); `stop()` and `start()` take it down and bring it back on the same port."""

    status: int = 200
    hang: float = 0.0
    delay: float = 0.0
    got: list[Delivery] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if receiver.hang:
                    time.sleep(receiver.hang)
                    return
                time.sleep(receiver.delay)
                receiver.got.append(Delivery({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def types(self) -> list[str]:
        return [d.json["type"] for d in self.got]


@pytest.fixture
def receivers() -> Iterator[Any]:
    started: list[Receiver] = []

    def start(**kwargs: Any) -> Receiver:
        receiver = Receiver(**kwargs).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.hang = 0
        receiver.stop()


@pytest.fixture(autouse=True)
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("OTHER_SECRET", OTHER_SECRET)
    monkeypatch.setenv("BUNDLECTL_WEBHOOK_BACKOFF", "0.05")  # retries come at once in tests
    monkeypatch.setenv("BUNDLECTL_WEBHOOK_DEADLINE", "1")


def subscribe(ws: Workspace, endpoints: dict[str, dict[str, Any]], *extra: str) -> Any:
    import yaml

    path = Path(ws.root) / "webhooks.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "bundlectl/v1", "kind": "Webhooks", "endpoints": endpoints}))
    return ws.run("webhooks", "set", str(path), *extra)


def endpoint(receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {"url": receiver.url, "secret": {"env": "HOOK_SECRET"}, **fields}
