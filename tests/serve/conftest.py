"""`bundlectl serve` on loopback against a real git registry of the example bundles, and clients to call it."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bundlectl.serve.config import ServeSettings
from bundlectl.serve.server import Server
from tests.conftest import V1, V2, Workspace

NAME, ENV = "support-triage", "staging"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Running:
    server: Server
    url: str
    thread: threading.Thread

    def call(self, method: str, path: str, document: Any = None, data: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        body = data if data is not None else (json.dumps(document).encode() if document is not None else None)
        request = urllib.request.Request(self.url + path, data=body, method=method, headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())

    def evaluate(self, key: str = NAME, targeting_key: str | None = None, **headers: str) -> Answer:
        context = {} if targeting_key is None else {"targetingKey": targeting_key}
        return self.call("POST", f"/ofrep/v1/evaluate/flags/{key}", {"context": context}, headers=headers)

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(10)


def start_server(ws: Workspace, **settings: Any) -> Running:
    port = settings.pop("port", None) or free_port()
    settings.setdefault("poll_interval", 0.5)
    server = Server(ServeSettings(ENV, (NAME,), "127.0.0.1", port, cwd=ws.root, **settings))
    thread = threading.Thread(target=server.run, name="bundlectl serve (test)", daemon=True)
    thread.start()
    running = Running(server, f"http://127.0.0.1:{port}", thread)
    wait_until(lambda: server.started, 15)
    return running


def wait_until(condition: Callable[[], Any], within: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
def live(git_registered: Workspace) -> Workspace:
    """V1 live in staging, V2 registered and allowed there (no gates): on a git registry."""
    from tests.helpers import promote, set_policy

    set_policy(git_registered, "environments:\n  staging: {}\n")
    promote(git_registered, V1, ENV)
    return git_registered


@pytest.fixture
def servers() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(ws: Workspace, **settings: Any) -> Running:
        running = start_server(ws, **settings)
        started.append(running)
        wait_until(lambda: running.call("GET", "/readyz").status == 200, 15)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def served(live: Workspace, servers: Callable[..., Running], tmp_path: Path) -> tuple[Workspace, Running]:
    return live, servers(live, request_log=tmp_path / "requests.jsonl")


__all__ = ["ENV", "NAME", "V1", "V2", "Answer", "Running", "free_port", "start_server", "wait_until"]
