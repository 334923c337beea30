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
from tests.templates import RegistryTemplates, copy_bucket, copy_index, copy_project, use_s3

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "bundles"
V1, V2 = "support-triage@2026.11.01-1", "support-triage@2026.11.22-1"


def test_environment(cache: Path) -> dict[str, str]:
    """What every test runs under: its own cache, a fixed actor and git identity."""
    names = {f"GIT_{who}_NAME": "bundlectl tests" for who in ("AUTHOR", "COMMITTER")}
    emails = {f"GIT_{who}_EMAIL": "tests@example.com" for who in ("AUTHOR", "COMMITTER")}
    return {"BUNDLECTL_CACHE_DIR": str(cache), "BUNDLECTL_ACTOR": "tester@example.com", **names, **emails}


UNSET = ("BUNDLECTL_REGISTRY", "BUNDLECTL_DEBUG", "BUNDLECTL_ROUTING_SECRET")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in test_environment(tmp_path / "cache").items():
        monkeypatch.setenv(name, value)
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)


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


def new_workspace(root: Path) -> Workspace:
    """A git repository with the example bundles copied in."""
    repo = git.Repo.init(root)
    shutil.copytree(EXAMPLES, root / "bundles")
    return Workspace(root, repo)


def reopened_workspace(root: Path) -> Workspace:
    return Workspace(root, git.Repo(root))


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A git repository with the example bundles copied in, as the current folder."""
    root = tmp_path / "project"
    workspace = new_workspace(root)
    monkeypatch.chdir(root)
    return workspace


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


def _initialise(ws: Workspace) -> None:
    result = ws.run("init")
    assert result.exit_code == 0, result.output


def _register_examples(ws: Workspace) -> None:
    for folder in ("bundles/support-triage-v1", "bundles/support-triage-v2"):
        result = ws.run("register", folder)
        assert result.exit_code == 0, result.output


def _make_v1_live(ws: Workspace) -> None:
    from tests.helpers import add, promote, promptfoo_report, set_policy

    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    add(ws, V2, promptfoo_report(ws, "v2"))
    promote(ws, V1, "staging")


@pytest.fixture(scope="session")
def registry_templates(tmp_path_factory: pytest.TempPathFactory) -> RegistryTemplates:
    builders = {"initialised": _initialise, "registered": _register_examples, "v1_live": _make_v1_live}
    return RegistryTemplates(tmp_path_factory.mktemp("templates"), builders, new_workspace, reopened_workspace, test_environment)


def _from_template(request: pytest.FixtureRequest, ws: Workspace, monkeypatch: pytest.MonkeyPatch, backend: str, stage: str) -> Workspace:
    """The test's workspace turned into a copy of the session's registry at `stage`, on `backend`."""
    endpoint = request.getfixturevalue("s3_endpoint") if backend == "s3" else None
    template = request.getfixturevalue("registry_templates").template(backend, stage, endpoint)
    copy_project(template.folder, ws.root)
    monkeypatch.chdir(ws.root)  # the folder the test stood in was replaced
    ws.repo = reopened_workspace(ws.root).repo
    if template.bucket is not None and endpoint is not None:
        copy_bucket(template.bucket, use_s3(monkeypatch, endpoint))
        copy_index(template.index, ws.storage().index_path())
    ws.backend = backend
    return ws


@pytest.fixture(params=["git", "s3"])
def registry(request: pytest.FixtureRequest, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The workspace with an initialised registry, on each backend in turn."""
    return _from_template(request, workspace, monkeypatch, request.param, "initialised")


@pytest.fixture
def registered(request: pytest.FixtureRequest, registry: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Both example bundles registered."""
    return _from_template(request, registry, monkeypatch, registry.backend, "registered")


@pytest.fixture
def git_registry(request: pytest.FixtureRequest, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """For behaviour that is about git itself (refs, commits, clones)."""
    return _from_template(request, workspace, monkeypatch, "git", "initialised")


@pytest.fixture
def git_registered(request: pytest.FixtureRequest, git_registry: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    return _from_template(request, git_registry, monkeypatch, "git", "registered")


@pytest.fixture
def v1_live(request: pytest.FixtureRequest, registered: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """V1 live in staging, V2 registered with passing evidence: on each backend."""
    return _from_template(request, registered, monkeypatch, registered.backend, "v1_live")


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
