"""Shared fixtures: a real git repository in tmp_path holding the example bundles, and a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import pytest
from click.testing import CliRunner, Result

from bundlectl.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "bundles"
V1, V2 = "support-triage@2026.11.01-1", "support-triage@2026.11.22-1"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BUNDLECTL_ACTOR", "tester@example.com")
    monkeypatch.delenv("BUNDLECTL_REGISTRY", raising=False)
    monkeypatch.delenv("BUNDLECTL_DEBUG", raising=False)
    monkeypatch.delenv("BUNDLECTL_ROUTING_SECRET", raising=False)
    for variable in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(variable, "bundlectl tests")
    for variable in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(variable, "tests@example.com")


@dataclass
class Workspace:
    root: Path
    repo: Any
    backend: str = "git"

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def storage(self) -> Any:
        from bundlectl.storage.locate import open_storage, registry_url

        return open_storage(registry_url(None), self.root)

    def log_head(self) -> str | None:
        return self.storage().log_head()

    def bundlectl_refs(self) -> str:
        """Everything the registry stores, with versions: equal snapshots mean nothing was written."""
        storage = self.storage()
        if self.backend == "git":
            return self.repo.git.for_each_ref("refs/bundlectl/")
        pages = storage.client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket, Prefix=storage.prefix)
        return "\n".join(f"{o['Key']} {o['ETag']}" for page in pages for o in page.get("Contents", []))

    def event_count(self) -> int:
        storage = self.storage()
        head = storage.log_head()
        return len(storage.events_after(None, head) or []) if head else 0


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A git repository with the example bundles copied in, as the current folder."""
    root = tmp_path / "project"
    repo = git.Repo.init(root)
    shutil.copytree(EXAMPLES, root / "bundles")
    monkeypatch.chdir(root)
    return Workspace(root, repo)


class _AtomicWrites:
    """One lock around moto's mutating requests.

    moto checks If-None-Match / If-Match and then writes, in two steps without a lock, so two
    concurrent conditional creates of one key can both succeed. S3 itself makes them atomic (one
    writer gets 412), and the registry relies on exactly that guarantee.
    """

    def __init__(self, app: Any) -> None:
        import threading

        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


def _s3_server(port: int) -> Any:
    from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
    from werkzeug.serving import make_server

    class AtomicMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = _AtomicWrites(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True)
            self._server_ready_event.set()
            self._server.serve_forever()

    return AtomicMotoServer(ip_address="127.0.0.1", port=port, verbose=False)


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real `git daemon` on loopback with receive-pack enabled, for registries on a git remote."""
    from tests.gitdaemon import git_daemon

    with git_daemon(tmp_path_factory.mktemp("git-daemon")) as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint() -> Any:
    """moto's standalone S3 server on a free loopback port: real HTTP, real 412s, S3's atomic conditional writes."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = _s3_server(port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def use_s3(monkeypatch: pytest.MonkeyPatch, endpoint: str, bucket: str | None = None) -> str:
    import uuid

    import boto3

    bucket = bucket or f"bundlectl-{uuid.uuid4().hex[:12]}"
    for name, value in (
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("BUNDLECTL_REGISTRY", f"s3://{bucket}/registry"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket


def _initialised(workspace: Workspace) -> Workspace:
    result = workspace.run("init")
    assert result.exit_code == 0, result.output
    return workspace


def _register_examples(ws: Workspace) -> Workspace:
    for folder in ("bundles/support-triage-v1", "bundles/support-triage-v2"):
        result = ws.run("register", folder)
        assert result.exit_code == 0, result.output
    return ws


@pytest.fixture(params=["git", "s3"])
def registry(request: pytest.FixtureRequest, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The workspace with an initialised registry, on each backend in turn."""
    if request.param == "s3":
        use_s3(monkeypatch, request.getfixturevalue("s3_endpoint"))
        workspace.backend = "s3"
    return _initialised(workspace)


@pytest.fixture
def registered(registry: Workspace) -> Workspace:
    return _register_examples(registry)


@pytest.fixture
def git_registry(workspace: Workspace) -> Workspace:
    """For behaviour that is about git itself (refs, commits, clones)."""
    return _initialised(workspace)


@pytest.fixture
def git_registered(git_registry: Workspace) -> Workspace:
    return _register_examples(git_registry)


@pytest.fixture
def v1_live(registered: Workspace) -> Workspace:
    """V1 live in staging, V2 registered with passing evidence: on each backend."""
    from tests.helpers import add, promote, promptfoo_report, set_policy

    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    promote(registered, V1, "staging")
    return registered


@pytest.fixture
def runtimes(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Runtime("support-triage", "staging", …) in the workspace of the test, each closed at the end."""
    from bundlectl.runtime import Runtime

    opened: list[Runtime] = []

    def start(ws: Workspace, **kwargs: Any) -> Runtime:
        kwargs.setdefault("poll_interval", 10)
        runtime = Runtime("support-triage", "staging", cwd=ws.root, **kwargs)
        opened.append(runtime)
        return runtime

    yield start
    for runtime in opened:
        runtime.close()


PROMPTFOO = "0.115.0"


def install_promptfoo() -> Path:
    """promptfoo 0.115.0, installed once into the cache by the script the demo uses; a machine without npm fails here."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.fail("promptfoo cannot be installed: Node.js 20 and npm are needed for the real promptfoo tests")
    install = subprocess.run(["bash", str(ROOT / "examples/install-promptfoo.sh")], capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, f"installing promptfoo {PROMPTFOO} failed:\n{install.stderr[-2000:]}"
    return Path(install.stdout.strip())


@pytest.fixture(scope="session")
def promptfoo() -> str:
    return str(install_promptfoo())


@pytest.fixture
def promptfoo_env(promptfoo: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Offline, quiet, and on PATH, so the example bundles' declared harness (`promptfoo eval …`) finds it."""
    for name, value in (
        ("PROMPTFOO_DISABLE_TELEMETRY", "1"),
        ("PROMPTFOO_DISABLE_UPDATE", "1"),
        ("PROMPTFOO_CONFIG_DIR", str(tmp_path / "promptfoo")),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", str(Path(promptfoo).parent) + os.pathsep + os.environ["PATH"])
    return promptfoo
