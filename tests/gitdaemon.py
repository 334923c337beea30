"""A real `git daemon` on loopback with receive-pack enabled: git's own network transport for shared registries.

Used by the tests (a session fixture in conftest.py) and by benchmarks/remote.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitServer:
    base: Path
    url: str  # git://127.0.0.1:PORT

    def new_repository(self, name: str = "") -> str:
        """A new, empty bare repository on the server; returns its git:// URL."""
        name = name or f"team-{uuid.uuid4().hex[:10]}.git"
        subprocess.run(["git", "init", "--bare", "--quiet", str(self.base / name)], check=True)
        return f"{self.url}/{name}"

    def path(self, url: str) -> Path:
        return self.base / url.rsplit("/", 1)[-1]


def fetches_and_pushes(trace: Path) -> tuple[int, int]:
    """How many times git fetched from and pushed to a remote, read from a GIT_TRACE file: each is one connection."""
    lines = trace.read_text().splitlines() if trace.exists() else []
    return (sum("built-in: git fetch " in line for line in lines), sum("built-in: git push " in line for line in lines))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def git_daemon(base: Path) -> Iterator[GitServer]:
    """Serve every repository under `base` on a free loopback port until the block ends."""
    for _ in range(5):  # another process may take the free port between probing and listening
        port = free_port()
        daemon = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--listen=127.0.0.1",
                f"--port={port}",
                f"--base-path={base}",
                "--export-all",
                "--enable=receive-pack",
                "--informative-errors",
                str(base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if _listening(port, daemon):
            break
        _stop(daemon)
    else:
        raise RuntimeError("git daemon did not start listening on 127.0.0.1")
    try:
        yield GitServer(base, f"git://127.0.0.1:{port}")
    finally:
        _stop(daemon)


def _listening(port: int, daemon: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and daemon.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def _stop(daemon: subprocess.Popen[bytes]) -> None:
    """Stop the daemon and the children it forked per connection (its own process group, by id)."""
    try:
        os.killpg(daemon.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()
