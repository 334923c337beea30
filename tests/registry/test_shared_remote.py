"""A registry a team shares: working copies on one bare remote, reached through a real `git daemon` on loopback.

Each copy is a clone of the project with its own cache (its own mirror and read index), as on another
machine, and reaches the registry with `git+origin`. Nothing is pushed or pulled by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import chdir
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bundlectl.cli.main import cli
from bundlectl.foundation.faults import EVENT_WRITTEN, LOG_MOVED, OBJECTS_STORED, PUSHED
from tests.conftest import EXAMPLES, V1, V2
from tests.gitdaemon import GitServer, fetches_and_pushes

STAGING_POLICY = "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {}\n"


@dataclass
class Copy:
    """One teammate's clone: its own folder and cache, the registry on the remote `origin`."""

    root: Path
    cache: Path

    @property
    def env(self) -> dict[str, str]:
        return {"BUNDLECTL_CACHE_DIR": str(self.cache), "BUNDLECTL_REGISTRY": "git+origin"}

    def run(self, *args: str, **env: str) -> Result:
        with chdir(self.root):
            return CliRunner().invoke(cli, list(args), env={**self.env, **env}, catch_exceptions=False)

    def ok(self, *args: str, **env: str) -> Result:
        result = self.run(*args, **env)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self.ok(*args, "--json", **env).stdout)

    def process(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """The command as its own process, as a teammate's terminal would run it."""
        return subprocess.Popen(
            [sys.executable, "-m", "bundlectl", *args],
            cwd=self.root,
            text=True,
            env={**os.environ, **self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def call(self, *args: str, **env: str) -> tuple[int, str]:
        process = self.process(*args, **env)
        _, stderr = process.communicate(timeout=300)
        return process.returncode, stderr


@dataclass
class Team:
    server: GitServer
    url: str
    folder: Path

    def clone(self, name: str) -> Copy:
        root = self.folder / name
        subprocess.run(["git", "clone", "--quiet", self.url, str(root)], check=True, capture_output=True)
        shutil.copytree(EXAMPLES, root / "bundles")
        return Copy(root, self.folder / f"{name}-cache")

    def remote_events(self) -> int:
        """How many records the remote's log holds, read from the bare repository itself."""
        found = subprocess.run(
            ["git", "--git-dir", str(self.server.path(self.url)), "rev-list", "--count", "refs/bundlectl/log"], capture_output=True, text=True
        )
        return int(found.stdout) if found.returncode == 0 else 0

    def remote_refs(self) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(self.server.path(self.url)), "for-each-ref", "refs/bundlectl/"], capture_output=True, text=True, check=True
        ).stdout


@pytest.fixture
def team(git_server: GitServer, tmp_path: Path) -> Team:
    return Team(git_server, git_server.new_repository(), tmp_path)


@pytest.fixture
def shared(team: Team) -> tuple[Team, Copy]:
    """A registry on the remote, made from one copy: both examples registered, a staging environment."""
    alice = team.clone("alice")
    alice.ok("init")
    for folder in ("bundles/support-triage-v1", "bundles/support-triage-v2"):
        alice.ok("register", folder)
    (alice.root / "policy.yaml").write_text(STAGING_POLICY)
    alice.ok("policy", "set", "policy.yaml")
    return team, alice


def version_folder(copy: Copy, version: str) -> str:
    """A copy of the v1 example under another version and temperature: another bundle, another digest."""
    folder = copy.root / "bundles" / f"race-{version}"
    shutil.copytree(copy.root / "bundles/support-triage-v1", folder)
    text = (folder / "bundle.yaml").read_text().replace("version: 2026.11.01-1", f"version: {version}")
    (folder / "bundle.yaml").write_text(text.replace("temperature: 0.2", f"temperature: 0.{version[-1]}1"))
    return str(folder)


def test_a_second_copy_reads_and_writes_the_registry_the_first_created(shared: tuple[Team, Copy]):
    team, alice = shared
    bob = team.clone("bob")
    assert [b["version"] for b in bob.json("list")["bundles"]] == ["2026.11.01-1", "2026.11.22-1"]
    bob.ok("promote", V1, "--env", "staging", "--actor", "bob@example.com")
    # a write in one copy is what the other reads next: `status --check` always fetches
    assert alice.json("status", "--check")["environments"][0]["version"] == "2026.11.01-1"
    alice.ok("promote", V2, "--env", "staging")
    history = bob.json("history", "support-triage", "--env", "staging", BUNDLECTL_FETCH_TTL="0")["events"]
    assert [e["to_digest"] for e in history] == [alice.json("show", V2)["digest"], alice.json("show", V1)["digest"]]
    for copy in (alice, bob):
        assert copy.run("verify").exit_code == 0
    # the remote holds the pointer as a blob that moved by a leased, forced update: nothing to fix by hand
    assert " blob\trefs/bundlectl/pointers/envs/support-triage/staging" in team.remote_refs()


def test_concurrent_promotions_from_two_copies_lose_no_update_and_a_third_copy_reads_every_one(shared: tuple[Team, Copy]):
    team, alice = shared
    bob = team.clone("bob")
    versions = [f"9.0.{i}" for i in range(6)]
    for version in versions:
        alice.ok("register", version_folder(alice, version))
    racers = [
        (alice if i % 2 else bob).process("promote", f"support-triage@{v}", "--env", "staging", "--actor", f"op{i}@example.com")
        for i, v in enumerate(versions)
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in racers]
    codes = [code for code, _ in outcomes]
    assert set(codes) <= {0, 3}, outcomes
    assert codes.count(0) >= 1
    for code, stderr in outcomes:
        if code == 3:
            assert "nothing was changed" in stderr and "Traceback" not in stderr, stderr
    carol = team.clone("carol")  # a third copy that has never read the registry
    events = carol.json("history", "support-triage", "--env", "staging")["events"]
    winners = {f"op{i}@example.com" for i, code in enumerate(codes) if code == 0}
    assert {e["actor"] for e in events} == winners and len(events) == len(winners)
    for newer, older in zip(events, events[1:], strict=False):
        assert newer["from_digest"] == older["to_digest"]  # every move started from the one before: none lost
    assert [e["pointer_version"] for e in events] == list(range(len(events), 0, -1))
    for copy in (alice, bob, carol):
        assert copy.run("verify").exit_code == 0


def test_concurrent_registrations_from_two_copies_all_land(shared: tuple[Team, Copy]):
    team, alice = shared
    bob = team.clone("bob")
    racers = [
        copy.process("register", version_folder(copy, version))
        for copy, version in ((alice, "9.1.1"), (bob, "9.1.2"), (alice, "9.1.3"), (bob, "9.1.4"))
    ]
    assert [p.wait(timeout=300) for p in racers] == [0, 0, 0, 0], [p.stderr.read() if p.stderr else "" for p in racers]
    carol = team.clone("carol")
    assert {b["version"] for b in carol.json("list")["bundles"]} >= {"9.1.1", "9.1.2", "9.1.3", "9.1.4"}
    assert carol.run("verify").exit_code == 0


WRITES = {
    "register": (["register", "bundles/race-9.2.1"], (OBJECTS_STORED, EVENT_WRITTEN, PUSHED, LOG_MOVED)),
    "promote": (["promote", V2, "--env", "staging"], (EVENT_WRITTEN, PUSHED, LOG_MOVED)),
}
KILLS = [(command, fault) for command, (_, faults) in WRITES.items() for fault in faults]


@pytest.mark.parametrize("command,fault", KILLS)
def test_a_writer_killed_at_each_write_point_leaves_the_remote_before_or_after_and_blocks_nobody(shared: tuple[Team, Copy], command: str, fault: str):
    team, alice = shared
    bob = team.clone("bob")
    version_folder(alice, "9.2.1")
    alice.ok("promote", V1, "--env", "staging")
    before = team.remote_events()
    code, _ = alice.call(*WRITES[command][0], BUNDLECTL_FAULT=fault)
    assert code == -9
    landed = fault in (PUSHED, LOG_MOVED)
    assert team.remote_events() == before + landed  # before, or after: never in between
    # the other copy writes at once: nothing the killed writer left blocks it
    assert bob.run("register", version_folder(bob, "9.2.2")).exit_code == 0
    # and the killed copy's next command sees the remote as it is, then completes (or finds nothing to do)
    alice.ok(*WRITES[command][0])
    assert team.remote_events() == before + 2
    carol = team.clone("carol")
    assert carol.run("verify").exit_code == 0
    assert alice.run("verify").exit_code == 0


def test_a_read_within_the_ttl_makes_no_round_trip_and_a_promote_makes_one_fetch_and_one_push(shared: tuple[Team, Copy], tmp_path: Path):
    _, alice = shared

    def round_trips(*args: str, **env: str) -> tuple[int, int]:
        trace = tmp_path / "trace"
        trace.unlink(missing_ok=True)
        code, stderr = alice.call(*args, GIT_TRACE=str(trace), **env)
        assert code == 0, stderr
        return fetches_and_pushes(trace)

    assert round_trips("promote", V1, "--env", "staging") == (1, 1)
    ttl = {"BUNDLECTL_FETCH_TTL": "600"}
    assert round_trips("status", **ttl) == (0, 0)  # the promote's own push told the mirror; within the TTL
    assert round_trips("list", **ttl) == (0, 0)
    assert round_trips("status", "--check", **ttl) == (1, 0)  # --check and verify always fetch
    assert round_trips("verify", **ttl) == (1, 0)
    assert round_trips("list", BUNDLECTL_FETCH_TTL="0") == (1, 0)


def test_a_pointer_moved_on_the_remote_behind_bundlectls_back_fails_reads_with_exit_5(shared: tuple[Team, Copy]):
    team, alice = shared
    alice.ok("promote", V1, "--env", "staging")
    alice.ok("promote", V2, "--env", "staging")
    bare = str(team.server.path(team.url))
    old = subprocess.run(
        ["git", "--git-dir", bare, "rev-parse", "refs/bundlectl/pointers/envs/support-triage/staging~0"], capture_output=True, text=True
    )
    first = alice.json("history", "support-triage", "--env", "staging")["events"][-1]
    value = json.dumps(
        {
            "name": "support-triage",
            "env": "staging",
            "digest": first["to_digest"],
            "version": "2026.11.01-1",
            "pointer_version": 1,
            "seq": first["seq"],
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    blob = subprocess.run(
        ["git", "--git-dir", bare, "hash-object", "-w", "--stdin"], input=value, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "--git-dir", bare, "update-ref", "refs/bundlectl/pointers/envs/support-triage/staging", blob], check=True)
    assert old.stdout.strip() != blob
    bob = team.clone("bob")
    for copy in (alice, bob):
        for command in (["status", "--check"], ["list"], ["verify"]):
            result = copy.run(*command)
            assert result.exit_code == 5, (command, result.output)
            assert "envs/support-triage/staging" in result.stderr and "Traceback" not in result.output
    stderr = bob.run("status").stderr
    assert "staging says 2026.11.01-1" in stderr and "the read index built from the log says 2026.11.22-1" in stderr


def test_a_remote_whose_history_was_rewritten_is_refused_by_a_copy_that_saw_it(shared: tuple[Team, Copy]):
    team, alice = shared
    alice.ok("promote", V1, "--env", "staging")
    bare = str(team.server.path(team.url))
    subprocess.run(["git", "--git-dir", bare, "update-ref", "refs/bundlectl/log", "refs/bundlectl/log~2"], check=True)
    result = alice.run("list", BUNDLECTL_FETCH_TTL="0")
    assert result.exit_code == 5 and "rewritten" in result.stderr, result.output


def test_the_runtime_follows_a_remote_registry(shared: tuple[Team, Copy], monkeypatch: pytest.MonkeyPatch):
    from bundlectl.runtime import Runtime

    team, alice = shared
    alice.ok("promote", V1, "--env", "staging")
    server_side = team.folder / "server-cache"
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(server_side))
    monkeypatch.setenv("BUNDLECTL_FETCH_TTL", "0")
    runtime = Runtime("support-triage", "staging", registry="git+" + team.url, poll_interval=60, follow=False)
    assert runtime.current().version == "2026.11.01-1"
    alice.ok("promote", V2, "--env", "staging")
    assert runtime.refresh() is True
    assert runtime.current().version == "2026.11.22-1" and runtime.current().pointer_version == 2
    assert runtime.current().text("runbook.md") == (EXAMPLES / "support-triage-v2/runbook.md").read_text()


def test_a_clone_without_registry_refs_is_told_to_use_the_remote_never_to_init(shared: tuple[Team, Copy]):
    team, _ = shared
    bob = team.clone("bob")
    for command in (["list"], ["status"], ["verify"]):
        result = bob.run(*command, BUNDLECTL_REGISTRY="")  # the repository around: no refs/bundlectl/ in a clone
        assert result.exit_code == 4, result.output
        assert "git+origin" in result.stderr and "init" not in result.stderr, result.stderr


def test_an_empty_remote_says_where_the_registry_would_be_created(team: Team):
    bob = team.clone("bob")
    result = bob.run("list")
    assert result.exit_code == 4
    assert f"no bundlectl registry under refs/bundlectl/ of {team.url}" in result.stderr
    assert "bundlectl init --registry git+" in result.stderr


def test_a_registry_made_in_a_clone_moves_to_the_remote_with_registry_copy(team: Team):
    alice = team.clone("alice")
    for command in (["init"], ["register", "bundles/support-triage-v1"]):
        alice.ok(*command, BUNDLECTL_REGISTRY="")  # the registry of the clone itself, as before there was a remote
    copied = alice.ok("registry", "copy", "--migrate", ".", "git+origin", BUNDLECTL_REGISTRY="")
    assert "copied 3 events and 8 objects" in copied.output
    again = alice.ok("registry", "copy", "--migrate", ".", "git+origin", BUNDLECTL_REGISTRY="")
    assert "(3 were already there)" in again.output
    bob = team.clone("bob")
    assert [b["version"] for b in bob.json("list")["bundles"]] == ["2026.11.01-1"]
    assert bob.run("verify").exit_code == 0


def test_reads_of_a_remote_registry_import_nothing_heavy(shared: tuple[Team, Copy]):
    from tests.cli.test_startup_imports import PROBE

    _, alice = shared
    alice.ok("promote", V1, "--env", "staging")
    for command in (["list", "--json"], ["status", "--json"], ["history", "support-triage", "--env", "staging"]):
        probe = subprocess.run(
            [sys.executable, "-c", PROBE, *command],
            cwd=alice.root,
            capture_output=True,
            text=True,
            env={**os.environ, **alice.env, "BUNDLECTL_FETCH_TTL": "0"},
        )
        assert json.loads(probe.stderr.strip().splitlines()[-1]) == [], (command, probe.stderr)


def test_a_log_deleted_on_the_remote_is_damage_to_a_copy_that_saw_it_and_init_never_starts_over(shared: tuple[Team, Copy]):
    team, alice = shared
    alice.ok("promote", V1, "--env", "staging")
    bare = str(team.server.path(team.url))
    head = subprocess.run(["git", "--git-dir", bare, "rev-parse", "refs/bundlectl/log"], capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["git", "--git-dir", bare, "update-ref", "-d", "refs/bundlectl/log"], check=True)
    for command in (["list"], ["status"], ["verify"], ["init"], ["promote", V2, "--env", "staging"]):
        result = alice.run(*command, BUNDLECTL_FETCH_TTL="0")
        assert result.exit_code == 5, (command, result.output)
        assert "log is gone" in result.stderr and head in result.stderr and "bundlectl init" not in result.stderr, result.stderr
    bob = team.clone("bob")  # never saw the registry: its pointers on the remote still say one was there
    result = bob.run("init")
    assert result.exit_code == 5, result.output
    assert "envs/support-triage/staging" in result.stderr and "no log" in result.stderr, result.stderr
    assert team.remote_events() == 0  # nobody started a second registry over the first one's pointers
