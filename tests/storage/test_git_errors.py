"""A damaged git registry, or a ref lock left behind, is a one-line error with its exit code, never a bug report."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import Result

from bundlectl.errors import IntegrityFailure, Refused
from bundlectl.storage.base import (
    UNCHANGED,
    LogMoved,
    PointerMoved,
    PointerUpdate,
    Unchanged,
)
from bundlectl.storage.git import GitStorage
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy

MISSING = "1234567890abcdef1234567890abcdef12345678"  # a well-formed id of no object in the repository
STAGING = "envs/support-triage/staging"


def refs(ws: Workspace) -> Path:
    return Path(ws.repo.git_dir) / "refs" / "bundlectl"


def ref_files(ws: Workspace) -> dict[str, bytes]:
    """Every loose ref under refs/bundlectl/ with its bytes: equal snapshots mean nothing was written."""
    return {str(p.relative_to(refs(ws))): p.read_bytes() for p in sorted(refs(ws).rglob("*")) if p.is_file()}


def one_error(result: Result, code: int, *texts: str) -> None:
    """Exit `code`, exactly one `error:` line (with every text in it), at most a `hint:` line, no bug report."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    assert len(lines) <= 2 and all(line.startswith("hint: ") for line in lines[1:]), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.output
    for text in texts:
        assert text in lines[0], lines[0]


def new_version(ws: Workspace, version: str, runbook_note: str | None = None) -> str:
    """A copy of the v2 bundle under a new version; with a note, its runbook is a file the registry lacks."""
    folder = ws.root / "bundles" / f"support-triage-{version}"
    shutil.copytree(ws.root / "bundles/support-triage-v2", folder)
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("version: 2026.11.22-1", f"version: {version}"))
    if runbook_note is not None:
        with (folder / "runbook.md").open("a") as runbook:
            runbook.write(f"\n{runbook_note}\n")
    return str(folder)


def forget_index(ws: Workspace) -> None:
    """Be a machine that has not read this registry before."""
    index = GitStorage(Path(ws.repo.git_dir), str(ws.root)).index_path()
    for path in index.parent.glob(index.name + "*"):
        path.unlink()


def age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def promoted(git_registered: Workspace) -> Workspace:
    """V1 live in staging, V2 with passing evidence, ready to be promoted."""
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    add(ws, V2, promptfoo_report(ws, "v2"))
    promote(ws, V1, "staging")
    return ws


# damaged refs ------------------------------------------------------------------------------------------

DAMAGE = {
    "a missing object": (MISSING + "\n", "which is not in this repository"),
    "garbage": ("not an object id\n", "not an object id"),
    "an empty file": ("", "not an object id"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("index", ["cached", "rebuilt"])
def test_a_damaged_log_ref_fails_every_command_with_exit_5(git_registered: Workspace, damage: str, index: str):
    ws = git_registered
    content, says = DAMAGE[damage]
    (refs(ws) / "log").write_text(content)
    if index == "rebuilt":
        forget_index(ws)
    before = ref_files(ws)
    for command in (["list"], ["status"], ["show", V1], ["verify"], ["register", new_version(ws, "2026.11.22-7", "new")]):
        one_error(ws.run(*command), 5, "refs/bundlectl/log", says)
    assert ref_files(ws) == before  # nothing was written, the log head included


def test_a_log_ref_naming_a_blob_is_not_an_empty_log(git_registered: Workspace):
    ws = git_registered
    blob = ws.repo.git.rev_parse(f"refs/bundlectl/objects/{ws.storage().all_object_keys()[0]}")
    (refs(ws) / "log").write_text(blob + "\n")
    forget_index(ws)
    one_error(ws.run("list"), 5, "refs/bundlectl/log", "is a blob, not a commit")
    one_error(ws.run("register", new_version(ws, "2026.11.22-7")), 5, "is a blob, not a commit")


def test_garbage_in_packed_refs_names_the_file(git_registered: Workspace):
    ws = git_registered
    ws.repo.git.pack_refs("--all")
    assert not (refs(ws) / "log").exists()
    packed = Path(ws.repo.git_dir) / "packed-refs"
    packed.write_text(
        "\n".join(("zzzz refs/bundlectl/log" if line.endswith(" refs/bundlectl/log") else line) for line in packed.read_text().splitlines()) + "\n"
    )
    one_error(ws.run("status"), 5, str(packed), "refs/bundlectl/log", "'zzzz'")


@pytest.mark.parametrize("damage", ["a missing object", "garbage"])
def test_a_damaged_pointer_ref_is_an_integrity_failure(promoted: Workspace, damage: str):
    ws = promoted
    (refs(ws) / "pointers" / STAGING).write_text(DAMAGE[damage][0])
    before = ref_files(ws)
    one_error(ws.run("verify"), 5, "pointers/envs/support-triage/staging", DAMAGE[damage][1])
    one_error(ws.run("promote", V2, "--env", "staging"), 5, "pointers/envs/support-triage/staging")
    assert ref_files(ws) == before
    storage = ws.storage()
    with pytest.raises(IntegrityFailure, match="pointers/envs/support-triage/staging"):
        storage.read_pointer(STAGING)
    with pytest.raises(IntegrityFailure, match="pointers/envs/support-triage/staging"):
        storage.read_pointer_if_changed(STAGING, "0" * 40)


@pytest.mark.parametrize("damage", ["a missing object", "garbage"])
def test_a_damaged_object_ref_is_an_integrity_failure(git_registered: Workspace, damage: str):
    ws = git_registered
    runbook = hashlib.sha256((ws.root / "bundles/support-triage-v2/runbook.md").read_bytes()).hexdigest()
    (refs(ws) / "objects" / "blobs" / runbook).write_text(DAMAGE[damage][0])
    before = ref_files(ws)
    one_error(ws.run("verify"), 5, f"blobs/{runbook}")
    # a new version sharing that file must not be registered on top of a lost object
    one_error(ws.run("register", new_version(ws, "2026.11.22-7")), 5, f"blobs/{runbook}")
    assert ref_files(ws) == before
    storage = ws.storage()
    with pytest.raises(IntegrityFailure, match=f"objects/blobs/{runbook}"):
        storage.get_object(f"blobs/{runbook}")
    if damage == "garbage":
        with pytest.raises(IntegrityFailure, match=f"objects/blobs/{runbook}"):
            storage.all_object_keys()


def test_an_object_ref_naming_a_commit_is_not_a_blob(git_registered: Workspace):
    ws = git_registered
    key = ws.storage().all_object_keys()[0]
    (refs(ws) / "objects" / key).write_text(ws.storage().log_head() + "\n")
    with pytest.raises(IntegrityFailure, match="which is a commit, not a blob"):
        ws.storage().get_object(key)


def test_a_ref_that_cannot_be_created_is_refused_with_the_reason(git_registered: Workspace):
    storage = git_registered.storage()
    storage.put_object("reports/a", b"one")
    with pytest.raises(
        Refused,
        match=r"cannot create the ref refs/bundlectl/objects/reports/a/b: .*"
        r"refs/bundlectl/objects/reports/a is a ref, so no ref can live under it",
    ) as caught:
        storage.put_object("reports/a/b", b"two")  # git keeps no ref inside another ref
    assert "\n" not in caught.value.message
    storage.put_object("reports/c/d", b"three")
    with pytest.raises(Refused, match=r"cannot create the ref refs/bundlectl/objects/reports/c: .*is a folder of other refs"):
        storage.put_object("reports/c", b"four")
    assert not list(refs(git_registered).rglob("*.lock"))


# ref locks ---------------------------------------------------------------------------------------------


def test_a_stale_log_lock_is_removed_and_register_succeeds(git_registered: Workspace, caplog: pytest.LogCaptureFixture):
    ws = git_registered
    lock = refs(ws) / "log.lock"
    lock.write_text(ws.log_head() + "\n")
    age(lock, 60)
    head = ws.log_head()
    with caplog.at_level(logging.WARNING, logger="bundlectl.storage.git"):
        result = ws.run("register", new_version(ws, "2026.11.22-7", "new"))
    assert result.exit_code == 0, result.output
    assert not lock.exists() and ws.log_head() != head
    assert any(str(lock) in record.getMessage() for record in caplog.records)
    assert not [p for p in refs(ws).rglob("*.lock")]  # nothing set aside is left behind either
    assert ws.run("verify").exit_code == 0


def test_stale_pointer_and_object_locks_are_removed(promoted: Workspace):
    ws = promoted
    pointer_lock = refs(ws) / "pointers" / f"{STAGING}.lock"
    pointer_lock.write_text("")
    age(pointer_lock, 60)
    note = "escalation contacts moved"
    folder = new_version(ws, "2026.11.22-7", note)
    blob = hashlib.sha256((Path(folder) / "runbook.md").read_bytes()).hexdigest()
    object_lock = refs(ws) / "objects" / "blobs" / f"{blob}.lock"
    object_lock.write_text("")
    age(object_lock, 60)
    assert ws.run("register", folder).exit_code == 0
    assert not object_lock.exists() and ws.storage().has_object(f"blobs/{blob}")
    promote(ws, V2, "staging")
    assert not pointer_lock.exists()
    assert ws.json("status")["environments"][0]["version"] == "2026.11.22-1"
    assert ws.run("verify").exit_code == 0


def test_a_fresh_log_lock_is_a_conflict_and_nothing_is_written(git_registered: Workspace):
    ws = git_registered
    lock = refs(ws) / "log.lock"
    lock.write_text("")
    folder = new_version(ws, "2026.11.22-7")
    head = ws.log_head()
    one_error(ws.run("register", folder), 3, f"another writer holds {lock}; retry")
    assert lock.exists() and ws.log_head() == head
    lock.unlink()
    assert ws.run("register", folder).exit_code == 0
    assert ws.log_head() != head


def test_a_fresh_pointer_lock_is_a_conflict_and_nothing_is_written(promoted: Workspace):
    ws = promoted
    lock = refs(ws) / "pointers" / f"{STAGING}.lock"
    lock.write_text("")
    before = ref_files(ws)
    one_error(ws.run("promote", V2, "--env", "staging"), 3, str(lock))
    assert ref_files(ws) == before
    lock.unlink()
    promote(ws, V2, "staging")
    assert ws.json("status")["environments"][0]["version"] == "2026.11.22-1"


def test_a_stale_lock_that_cannot_be_removed_names_the_file_to_delete(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    ws = git_registered
    lock = refs(ws) / "log.lock"
    lock.write_text("")
    age(lock, 60)
    rename = Path.rename

    def refuse_locks(self: Path, target: Path) -> Path:  # what a read-only folder does (tests run as root)
        if self.name.endswith(".lock"):
            raise PermissionError(13, "Permission denied")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", refuse_locks)
    head = ws.log_head()
    result = ws.run("register", new_version(ws, "2026.11.22-7"))
    one_error(result, 1, str(lock), "cannot be removed")
    assert f"rm '{lock}'" in result.stderr
    assert lock.exists() and ws.log_head() == head


def test_removing_a_stale_lock_never_overwrites_a_lost_race(promoted: Workspace):
    """The retry after a recovery still carries the expected old values: a moved log or pointer wins."""
    ws = promoted
    storage = ws.storage()
    head, token = storage.log_head(), storage.read_pointer(STAGING).token
    older = ws.repo.git.rev_parse(f"{head}~1")
    lost_races = [
        (PointerMoved, head, [PointerUpdate(STAGING, "0" * 39 + "1", b"{}")]),  # pointer moved since
        (LogMoved, older, [PointerUpdate(STAGING, token, b"{}")]),
    ]  # log moved since
    for signal, expected_head, updates in lost_races:
        locks = [refs(ws) / "log.lock", refs(ws) / "pointers" / f"{STAGING}.lock"]
        for lock in locks:
            lock.write_text("")
            age(lock, 60)
        with pytest.raises(signal):
            storage.append_event(b'{"forged": true}', "forged", expected_head, updates)
        assert not any(lock.exists() for lock in locks)  # recovered, and still refused
        assert (storage.log_head(), storage.read_pointer(STAGING).token) == (head, token)
    assert ws.run("verify").exit_code == 0


def test_reads_ignore_lock_files(promoted: Workspace):
    ws = promoted
    storage = ws.storage()
    head, pointer = storage.log_head(), storage.read_pointer(STAGING)
    for name in ("log.lock", f"pointers/{STAGING}.lock", "pointers/envs/support-triage/production.lock"):
        (refs(ws) / name).write_text(MISSING + "\n")
    assert storage.log_head() == head == ws.repo.git.rev_parse("refs/bundlectl/log")
    assert storage.read_pointer(STAGING) == pointer
    assert storage.read_pointer_if_changed(STAGING, pointer.token) is UNCHANGED
    assert isinstance(UNCHANGED, Unchanged)
    assert storage.read_pointer("envs/support-triage/production") is None
    assert storage.list_pointers() == {STAGING: pointer.token}
    assert not [key for key in storage.all_object_keys() if key.endswith(".lock")]
    for command in (["status"], ["list"], ["verify"]):
        assert ws.run(*command).exit_code == 0, command


def test_a_stale_packed_refs_lock_does_not_block_a_write(git_registered: Workspace):
    ws = git_registered
    lock = Path(ws.repo.git_dir) / "packed-refs.lock"
    lock.write_text("")
    age(lock, 60)
    head = ws.log_head()
    assert ws.run("register", new_version(ws, "2026.11.22-7", "new")).exit_code == 0
    assert ws.log_head() != head


def test_a_stale_lock_that_is_a_directory_is_removed_and_register_succeeds(git_registered: Workspace):
    ws = git_registered
    lock = refs(ws) / "log.lock"
    lock.mkdir()
    (lock / "left-over").write_text("")
    age(lock, 60)
    result = ws.run("register", new_version(ws, "2026.11.22-7", "new"))
    assert result.exit_code == 0, result.output
    assert not lock.exists() and not [p for p in refs(ws).rglob("*.lock")]
    assert ws.run("verify").exit_code == 0


def test_a_lock_dated_in_the_future_is_stale_not_fresh_forever(git_registered: Workspace):
    ws = git_registered
    lock = refs(ws) / "log.lock"
    lock.write_text("")
    age(lock, -3600)  # a skewed clock, or a touch: an hour ahead
    head = ws.log_head()
    assert ws.run("register", new_version(ws, "2026.11.22-7", "new")).exit_code == 0
    assert not lock.exists() and ws.log_head() != head


def test_a_failure_git_names_no_lock_for_is_not_a_lock_problem(git_registered: Workspace):
    ws = git_registered
    storage = ws.storage()
    lock = refs(ws) / "log.lock"
    lock.write_text("")
    age(lock, 60)
    bad_name = "fatal: update_ref failed for ref 'refs/bundlectl/log': refusing to update ref with bad name 'refs/bundlectl/log'"
    assert storage.recover_stale_locks(bad_name, ["refs/bundlectl/log"], set()) is False
    assert lock.exists()
    locked = f"fatal: cannot lock ref 'refs/bundlectl/log': Unable to create '{lock}': File exists."
    assert storage.recover_stale_locks(locked, ["refs/bundlectl/log"], set()) is True
    assert not lock.exists()


def test_lock_recovery_never_touches_a_file_outside_refs_bundlectl(git_registered: Workspace):
    ws = git_registered
    storage = ws.storage()
    branch_lock = Path(ws.repo.git_dir) / "refs" / "heads" / "main.lock"
    branch_lock.parent.mkdir(parents=True, exist_ok=True)
    branch_lock.write_text("")
    config_lock = Path(ws.repo.git_dir) / "config.lock"
    config_lock.write_text("")
    for lock in (branch_lock, config_lock):
        age(lock, 60)
    said = f"fatal: cannot lock ref 'refs/heads/main': Unable to create '{branch_lock}': File exists."
    assert storage.recover_stale_locks(said, [], set()) is False
    escaping = f"fatal: Unable to create '{ws.repo.git_dir}/refs/bundlectl/../../config.lock': File exists."
    with pytest.raises(IntegrityFailure, match="not a ref bundlectl keeps"):
        storage.recover_stale_locks(escaping, [], set())
    assert branch_lock.exists() and config_lock.exists()


def test_reads_refuse_a_ref_file_that_leads_outside_refs_bundlectl(promoted: Workspace, tmp_path: Path):
    ws = promoted
    secret = tmp_path / "secret"
    secret.write_text("top secret value\n")
    pointer = refs(ws) / "pointers" / STAGING
    pointer.unlink()
    pointer.symlink_to(secret)
    for command in (["status"], ["list"], ["verify"]):
        result = ws.run(*command)
        one_error(result, 5, "leads outside")
        assert "top secret" not in result.output


def test_a_symbolic_ref_out_of_the_namespace_is_damage(git_registered: Workspace):
    ws = git_registered
    (refs(ws) / "log").write_text("ref: refs/heads/main\n")
    one_error(ws.run("list"), 5, "refs/bundlectl/log", "outside refs/bundlectl/")


@pytest.mark.parametrize(
    "name",
    [
        "refs/heads/main",
        "refs/bundlectl/../../config",
        "refs/bundlectl/log.lock",
        "refs/bundlectl/objects/a..b",
        "refs/bundlectl/.hidden",
        "refs/bundlectl/objects/x.",
        "refs/bundlectl/objects/a b",
    ],
)
def test_ref_reads_refuse_names_outside_the_namespace(git_registered: Workspace, name: str):
    from bundlectl.storage.gitrefs import read_ref

    with pytest.raises(IntegrityFailure, match="not a ref bundlectl keeps"):
        read_ref(Path(git_registered.repo.git_dir), name)


def test_a_pointer_moved_behind_bundlectls_back_fails_every_read_with_exit_5(promoted: Workspace):
    from tests.helpers import write_behind_bundlectl

    ws = promoted
    old = ws.storage().read_pointer(STAGING).value
    promote(ws, V2, "staging")
    write_behind_bundlectl(ws, "pointers/" + STAGING, old)
    before = ref_files(ws)
    for command in (["list"], ["status"], ["status", "--check"], ["history", "support-triage", "--env", "staging"], ["show", V1], ["verify"]):
        one_error(ws.run(*command), 5, STAGING)
    stderr = ws.run("status").stderr
    assert f"{STAGING} says 2026.11.01-1" in stderr and "the read index built from the log says 2026.11.22-1" in stderr
    assert ref_files(ws) == before


def test_a_pointer_the_log_never_moved_fails_reads_with_exit_5(promoted: Workspace):
    from tests.helpers import write_behind_bundlectl

    ws = promoted
    write_behind_bundlectl(ws, "pointers/envs/support-triage/production", ws.storage().read_pointer(STAGING).value)
    one_error(ws.run("status"), 5, "envs/support-triage/production", "built from the log says nothing")
    one_error(ws.run("verify"), 5, "envs/support-triage/production")


def test_a_pointer_moved_to_a_huge_blob_is_refused_without_reading_it(promoted: Workspace, monkeypatch: pytest.MonkeyPatch):
    import subprocess

    import bundlectl.storage.git as git_storage

    ws = promoted
    monkeypatch.setattr(git_storage, "POINTER_MAX", 4096)  # a blob of zeros that compresses to nothing, inflating past it
    blob = (
        subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=ws.root, input=bytes(1 << 20), capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )
    (refs(ws) / "pointers" / STAGING).write_text(blob + "\n")
    read = []
    monkeypatch.setattr(GitStorage, "_read_blob", lambda self, *args: read.append(args) or b"")
    storage = ws.storage()
    for attempt in (lambda: storage.read_pointer(STAGING), lambda: storage.read_pointer_if_changed(STAGING, None)):
        with pytest.raises(IntegrityFailure, match=f"pointers/envs/support-triage/staging points at {blob}, a blob of 1048576 bytes"):
            attempt()
    assert read == []
    one_error(ws.run("status"), 5, "pointers/envs/support-triage/staging")
