"""The git-remote backend on its own: which URLs it takes, how it fails, and its compare-and-swap on the remote."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundlectl.errors import NotFound, UsageProblem
from bundlectl.storage.base import FileToStore, LogMoved, PointerMoved, PointerUpdate
from bundlectl.storage.remote_git import RemoteGitStorage, open_remote, remote_url
from tests.conftest import Workspace
from tests.gitdaemon import GitServer, free_port
from tests.storage.test_git_errors import age, one_error


def remote_refs(server: GitServer, url: str) -> dict[str, str]:
    listing = subprocess.run(
        ["git", "--git-dir", str(server.path(url)), "for-each-ref", "--format=%(refname) %(objectname)", "refs/bundlectl/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(" ") for line in listing.splitlines())


def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, name: str) -> RemoteGitStorage:
    """The storage as one machine sees it: its own cache, so its own mirror."""
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(tmp_path / f"{name}-cache"))
    return open_remote("git+" + url, tmp_path)


# which URLs ---------------------------------------------------------------------------------------------

ACCEPTED = {
    "git+ssh://git@example.com/team/registry.git": "ssh://git@example.com/team/registry.git",
    "git+ssh://example.com:2222/srv/registry.git": "ssh://example.com:2222/srv/registry.git",
    "git+https://git.example.com/team/registry.git": "https://git.example.com/team/registry.git",
    "git+git://127.0.0.1:9418/registry.git": "git://127.0.0.1:9418/registry.git",
    "git+git@github.com:team/registry.git": "git@github.com:team/registry.git",
}


@pytest.mark.parametrize("url", list(ACCEPTED))
def test_git_urls_become_the_url_git_reaches(url: str, tmp_path: Path):
    assert remote_url(url, tmp_path) == ACCEPTED[url]


REFUSED = [
    "git+ext::sh -c touch% /tmp/bundlectl-pwned",  # git's command transport: never
    "git+ext::sh",
    "git+fd::17",
    "git+-oProxyCommand=touch /tmp/bundlectl-pwned",
    "git+ssh://-oProxyCommand=touch/registry.git",
    "git+ssh://",
    "git+",
    "git+/srv/registry.git",  # a path needs no git+
    "git+ftp://example.com/registry.git",
    "git+ssh://host/registry.git\nmalicious",
]


@pytest.mark.parametrize("url", REFUSED)
def test_anything_else_after_git_plus_is_a_usage_error_and_runs_nothing(url: str, workspace: Workspace):
    result = workspace.run("list", "--registry", url)
    one_error(result, 2)
    assert not Path("/tmp/bundlectl-pwned").exists()
    assert not (workspace.root.parent / "cache" / "remotes").exists()  # not even a mirror was made


def test_git_plus_origin_needs_a_repository_and_an_origin(workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    one_error(workspace.run("list", "--registry", "git+origin"), 4, "has no remote 'origin'")
    assert "git remote add origin" in workspace.run("list", "--registry", "git+origin").stderr
    outside = tmp_path / "not-a-repository"
    outside.mkdir()
    monkeypatch.chdir(outside)
    with pytest.raises(NotFound, match="none around"):
        remote_url("git+origin", outside)


def test_an_origin_given_as_a_relative_path_is_read_from_the_work_tree(workspace: Workspace, tmp_path: Path):
    subprocess.run(["git", "init", "--bare", "--quiet", str(tmp_path / "team.git")], check=True)
    workspace.repo.git.remote("add", "origin", "../team.git")
    (workspace.root / "bundles").mkdir(exist_ok=True)
    assert remote_url("git+origin", workspace.root / "bundles") == str(tmp_path / "team.git")
    for command in (["init"], ["register", "bundles/support-triage-v1"]):
        assert workspace.run(*command, "--registry", "git+origin").exit_code == 0
    listing = subprocess.run(
        ["git", "--git-dir", str(tmp_path / "team.git"), "for-each-ref", "refs/bundlectl/log"], capture_output=True, text=True, check=True
    ).stdout
    assert "refs/bundlectl/log" in listing
    assert not workspace.repo.git.for_each_ref("refs/bundlectl/")  # nothing in the clone itself


@pytest.mark.parametrize("variable", ["BUNDLECTL_FETCH_TTL", "BUNDLECTL_REMOTE_TIMEOUT"])
def test_a_time_setting_that_is_not_seconds_is_a_usage_error(workspace: Workspace, monkeypatch: pytest.MonkeyPatch, variable: str):
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv(variable, bad)
        one_error(workspace.run("list", "--registry", "git+git://127.0.0.1:1/x.git"), 2, variable)


def test_a_timeout_of_zero_seconds_is_a_usage_error(workspace: Workspace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BUNDLECTL_REMOTE_TIMEOUT", "0")  # every fetch would time out at once
    one_error(workspace.run("list", "--registry", "git+git://127.0.0.1:1/x.git"), 2, "BUNDLECTL_REMOTE_TIMEOUT='0'")
    monkeypatch.setenv("BUNDLECTL_REMOTE_TIMEOUT", "5")
    monkeypatch.setenv("BUNDLECTL_FETCH_TTL", "0")  # no caching: fine
    assert "BUNDLECTL" not in workspace.run("list", "--registry", "git+git://127.0.0.1:1/x.git").stderr


# how it fails -------------------------------------------------------------------------------------------


def test_an_unreachable_remote_is_one_line_and_nothing_is_written(workspace: Workspace):
    url = f"git+git://127.0.0.1:{free_port()}/registry.git"
    one_error(workspace.run("list", "--registry", url), 1, "cannot fetch the registry from git://127.0.0.1")
    result = workspace.run("register", "bundles/support-triage-v1", "--registry", url)
    one_error(result, 1, "cannot fetch the registry")
    assert "check the URL" in result.stderr


def test_a_repository_the_server_does_not_have_is_one_line(workspace: Workspace, git_server: GitServer):
    one_error(workspace.run("list", "--registry", f"git+{git_server.url}/no-such.git"), 1, "cannot fetch the registry")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A server that accepts connections and never answers: the outage that hangs instead of failing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_remote_that_never_answers_times_out(workspace: Workspace, silent_server: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BUNDLECTL_REMOTE_TIMEOUT", "1")
    started = time.monotonic()
    result = workspace.run("status", "--registry", f"git+git://127.0.0.1:{silent_server}/registry.git")
    one_error(result, 1, "took longer than 1 s")
    assert "BUNDLECTL_REMOTE_TIMEOUT" in result.stderr
    assert time.monotonic() - started < 30


# compare-and-swap on the remote -------------------------------------------------------------------------


def test_a_push_that_lost_the_race_for_the_log_changes_nothing_on_the_remote(git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = git_server.new_repository()
    ours, theirs = machine(tmp_path, monkeypatch, url, "ours"), machine(tmp_path, monkeypatch, url, "theirs")
    first = theirs.append_event(b'{"n": 1}', "one", None, [PointerUpdate("envs/a/staging", None, b"1")])
    ours.refresh()
    assert ours.log_head() == first
    theirs.append_event(b'{"n": 2}', "two", first, [])
    before = remote_refs(git_server, url)
    ours.put_object("reports/" + "a" * 64, b"a report")
    with pytest.raises(LogMoved):
        ours.append_event(b'{"n": 2, "other": true}', "two'", first, [])
    assert remote_refs(git_server, url) == before  # the lease held: not the log, not the object
    assert ours.log_head() == before["refs/bundlectl/log"]  # and this machine now sees what won
    assert ours.has_object("reports/" + "a" * 64)  # still staged for the retry


def test_a_push_whose_pointer_moved_is_a_pointer_conflict_and_changes_nothing(git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = git_server.new_repository()
    storage = machine(tmp_path, monkeypatch, url, "ours")
    head = storage.append_event(b'{"n": 1}', "one", None, [PointerUpdate("envs/a/staging", None, b"1")])
    before = remote_refs(git_server, url)
    with pytest.raises(PointerMoved) as moved:
        storage.append_event(b'{"n": 2}', "two", head, [PointerUpdate("envs/a/staging", "0" * 40, b"2")])
    assert moved.value.name == "envs/a/staging"
    assert remote_refs(git_server, url) == before


def test_many_objects_go_ahead_in_batches_and_the_last_travels_with_the_event(git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("bundlectl.storage.remote_git.PUSH_BATCH", 2)
    url = git_server.new_repository()
    storage = machine(tmp_path, monkeypatch, url, "ours")
    files = {}
    for i in range(5):
        path = tmp_path / f"file-{i}"
        path.write_bytes(f"content {i}".encode())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files[f"blobs/{digest}"] = FileToStore(path, digest)
    storage.put_files(files)
    assert remote_refs(git_server, url) == {}  # staged here only, until an event needs them
    head = storage.append_event(b'{"n": 1}', "one", None, [])
    refs = remote_refs(git_server, url)
    assert refs["refs/bundlectl/log"] == head
    assert {name for name in refs if "/objects/" in name} == {f"refs/bundlectl/objects/{key}" for key in files}
    other = machine(tmp_path, monkeypatch, url, "theirs")
    assert other.log_head() == head  # a read starts with the log, which fetches
    assert other.get_object(f"blobs/{hashlib.sha256(b'content 3').hexdigest()}") == b"content 3"


def test_a_push_whose_answer_was_lost_is_read_back_as_landed(git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = git_server.new_repository()
    storage = machine(tmp_path, monkeypatch, url, "ours")
    push = RemoteGitStorage._push

    def push_then_lose_the_answer(self: RemoteGitStorage, *args: object) -> str:
        assert push(self, *args) is None  # type: ignore[arg-type]
        return "the connection was reset"

    monkeypatch.setattr(RemoteGitStorage, "_push", push_then_lose_the_answer)
    head = storage.append_event(b'{"n": 1}', "one", None, [PointerUpdate("envs/a/staging", None, b"1")])
    assert remote_refs(git_server, url)["refs/bundlectl/log"] == head == storage.log_head()


def test_a_stale_lock_in_this_machines_mirror_is_recovered_by_the_next_fetch(git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = git_server.new_repository()
    ours, theirs = machine(tmp_path, monkeypatch, url, "ours"), machine(tmp_path, monkeypatch, url, "theirs")
    head = theirs.append_event(b'{"n": 1}', "one", None, [])
    ours.refresh()
    assert ours.log_head() == head
    lock = ours.common / "refs" / "bundlectl" / "log.lock"
    lock.write_text(head + "\n")  # what a fetch killed while moving the mirror's log leaves behind
    age(lock, 60)
    newer = theirs.append_event(b'{"n": 2}', "two", head, [])
    ours.refresh()
    assert ours.log_head() == newer
    assert not lock.exists()


def test_an_unusable_cache_folder_is_one_line(workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(blocker))
    one_error(workspace.run("list", "--registry", "git+git://127.0.0.1:1/x.git"), 1, "cannot create a mirror")


def test_remote_url_rejects_a_remote_whose_configured_url_is_an_option(workspace: Workspace):
    workspace.repo.git.config("remote.origin.url", "-uhack")
    with pytest.raises(UsageProblem, match="will not pass to git"):
        remote_url("git+origin", workspace.root)
    assert os.environ.get("BUNDLECTL_REGISTRY") is None


def test_a_mirror_deleted_while_a_process_runs_is_made_again_by_its_next_fetch(
    git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import shutil

    url = git_server.new_repository()
    ours, theirs = machine(tmp_path, monkeypatch, url, "ours"), machine(tmp_path, monkeypatch, url, "theirs")
    head = theirs.append_event(b'{"n": 1}', "one", None, [PointerUpdate("envs/a/staging", None, b"1")])
    assert ours.log_head() == head and ours.read_pointer("envs/a/staging").value == b"1"  # type: ignore[union-attr]
    shutil.rmtree(ours.common)  # the cache folder cleaned under a long-lived process (a runtime, a service)
    newer = theirs.append_event(b'{"n": 2}', "two", head, [])
    ours.refresh()
    assert ours.log_head() == newer
    assert ours.read_pointer("envs/a/staging").value == b"1"  # type: ignore[union-attr]
    assert ours.append_event(b'{"n": 3}', "three", newer, []) == remote_refs(git_server, url)["refs/bundlectl/log"]


def test_a_fresh_lock_in_this_machines_mirror_is_a_conflict_not_gits_message(git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from bundlectl.errors import Conflict, ExitCode

    url = git_server.new_repository()
    ours, theirs = machine(tmp_path, monkeypatch, url, "ours"), machine(tmp_path, monkeypatch, url, "theirs")
    head = theirs.append_event(b'{"n": 1}', "one", None, [])
    ours.refresh()
    lock = ours.common / "refs" / "bundlectl" / "log.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)  # refs may all be packed
    lock.write_text(head + "\n")  # a fetch killed (kill -9) a moment ago, while moving the mirror's log
    theirs.append_event(b'{"n": 2}', "two", head, [])
    ours.refresh()
    with pytest.raises(Conflict) as err:
        ours.log_head()
    assert err.value.exit_code == ExitCode.CONFLICT
    assert f"another process holds {lock} in this machine's copy of" in err.value.message
    assert "removed once it is 10 s old" in err.value.hint
    assert lock.read_text() == head + "\n"  # left to its owner, or to age
