"""Large files in the git registry: stored uncompressed in-process, read in chunks, kept by gc and push; few processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import bundlectl.storage.gitobjects as gitobjects
from bundlectl.errors import IntegrityFailure, Refused
from bundlectl.storage.base import FileToStore
from bundlectl.storage.gitobjects import _BLOCK, GitObjects
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy
from tests.registry.test_large_files import BIG, REF, SIZE, big_bundle, key_of, small_chunks  # noqa: F401 (fixture)


def git(where: Workspace | Path, *args: str) -> str:
    folder = where if isinstance(where, Path) else where.root
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True).stdout


def loose(ws: Workspace, data: bytes) -> Path:
    sha = git(ws, "rev-parse", "refs/bundlectl/objects/" + key_of(data)).strip()
    return Path(ws.repo.git_dir) / "objects" / sha[:2] / sha[2:]


@pytest.fixture
def big(git_registry: Workspace) -> tuple[Workspace, bytes]:
    data = big_bundle(git_registry)
    (git_registry.root / "bundles/big-index/retriever/notes.txt").write_text("the same line of notes\n" * 10_000)
    result = git_registry.run("register", "bundles/big-index")
    assert result.exit_code == 0, result.output
    return git_registry, data


def test_large_blobs_are_stored_uncompressed_and_git_reads_them(big: tuple[Workspace, bytes]):
    ws, data = big
    stored = loose(ws, data)
    assert len(data) < stored.stat().st_size < len(data) * 1.001  # stored blocks: 5 bytes per 64 KiB
    sha = stored.parent.name + stored.name
    assert subprocess.run(["git", "cat-file", "blob", sha], cwd=ws.root, capture_output=True, check=True).stdout == data
    assert sha == git(ws, "hash-object", str(ws.root / "bundles/big-index" / BIG)).strip()
    notes = (ws.root / "bundles/big-index/retriever/notes.txt").read_bytes()
    assert loose(ws, notes).stat().st_size < len(notes) / 10  # small files are still compressed
    fsck = subprocess.run(["git", "fsck", "--strict", "--no-dangling"], cwd=ws.root, capture_output=True, text=True)
    assert fsck.returncode == 0 and "error" not in fsck.stderr, fsck.stderr
    assert not list((Path(ws.repo.git_dir) / "objects").glob("tmp_obj_*"))


def test_gc_and_push_keep_a_large_file(big: tuple[Workspace, bytes], tmp_path: Path):
    ws, data = big
    git(ws, "gc", "--quiet")
    assert not loose(ws, data).exists()  # now in a pack, read through git cat-file
    assert ws.run("verify").exit_code == 0
    assert ws.run("export", REF, "out").exit_code == 0
    assert (ws.root / "out" / BIG).read_bytes() == data
    with ws.storage().open_object(key_of(data)) as chunks:
        assert max(len(chunk) for chunk in chunks) <= gitobjects.base.CHUNK
    pushed = tmp_path / "pushed.git"
    git(tmp_path, "init", "--quiet", "--bare", str(pushed))
    git(ws, "push", "--quiet", str(pushed), "refs/bundlectl/*:refs/bundlectl/*")
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "--quiet", "--mirror", str(ws.root), str(mirror))
    for copy in (pushed, mirror):
        assert ws.run("verify", "--registry", str(copy)).exit_code == 0
        assert ws.run("export", REF, str(tmp_path / f"out-{copy.stem}"), "--registry", str(copy)).exit_code == 0
        assert (tmp_path / f"out-{copy.stem}" / BIG).read_bytes() == data
    version = "0.2.0"  # and the registry takes new large files after gc, beside the packed ones
    more = big_bundle(ws, version=version)
    assert ws.run("register", "bundles/big-index").exit_code == 0
    assert loose(ws, more).exists() and ws.run("verify").exit_code == 0


@pytest.mark.parametrize("batch_command", [True, False], ids=["git>=2.36", "older git"])
def test_packed_objects_can_be_read_side_by_side_and_abandoned(big: tuple[Workspace, bytes], batch_command: bool):
    ws, data = big
    git(ws, "gc", "--quiet")
    storage = ws.storage()
    storage.objects._batch_command = batch_command  # older git has no `cat-file --batch-command`
    key = key_of(data)
    assert storage.has_object(key)
    with storage.open_object(key) as outer:
        first = next(iter(outer))
        assert storage.get_object(key) == data  # while the shared reader is busy: a second one serves
        assert first + b"".join(outer) == data
    with storage.open_object(key) as chunks:
        next(iter(chunks))  # abandoned midway
    assert storage.has_object(key) and storage.get_object(key) == data
    assert not storage.has_object("blobs/" + "0" * 64)
    storage.objects.close()


def test_a_damaged_loose_object_is_an_integrity_failure_naming_the_file(big: tuple[Workspace, bytes]):
    ws, data = big
    stored = loose(ws, data)
    os.chmod(stored, 0o644)
    with open(stored, "r+b") as handle:  # one byte of content flipped: the zlib checksum no longer matches
        handle.seek(stored.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    result = ws.run("verify")
    assert result.exit_code == 5, result.output
    assert f"{REF} {BIG}: refs/bundlectl/objects/{key_of(data)}" in result.stderr and "damaged" in result.stderr
    os.truncate(stored, stored.stat().st_size // 2)
    result = ws.run("export", REF, "out")
    assert result.exit_code == 5 and "truncated" in result.stderr, result.output
    assert not (ws.root / "out").exists()


def test_a_loose_object_replaced_by_other_content_is_caught_by_its_digest(big: tuple[Workspace, bytes]):
    ws, data = big
    stored = loose(ws, data)  # a well-formed object of other bytes, under the original name
    other = bytearray(data)
    other[-1] ^= 0xFF
    os.chmod(stored, 0o644)
    stored.write_bytes(zlib.compress(b"blob %d\0" % len(other) + bytes(other)))
    result = ws.run("verify")
    assert result.exit_code == 5, result.output
    assert f"{REF} {BIG}: stored object {key_of(data)} does not match its digest" in result.stderr


def test_a_file_that_changes_while_stored_is_refused(git_registry: Workspace, tmp_path: Path):
    path = tmp_path / "growing.bin"
    path.write_bytes(os.urandom(SIZE))
    storage = git_registry.storage()

    def grow(_: int) -> None:
        with open(path, "ab") as handle:
            handle.write(b"more")

    key = key_of(path.read_bytes())
    with pytest.raises(Refused, match="changed after it was hashed, or while it was being stored"):
        storage.put_files({key: FileToStore(path, key.split("/")[1])}, grow)
    assert not storage.has_object(key)
    assert not list((Path(git_registry.repo.git_dir) / "objects").glob("tmp_obj_*"))


def test_a_fresh_lock_on_an_object_ref_is_a_conflict(git_registry: Workspace):
    ws = git_registry
    data = big_bundle(ws)
    lock = Path(ws.repo.git_dir) / "refs/bundlectl/objects" / (key_of(data) + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    head = ws.log_head()
    result = ws.run("register", "bundles/big-index")
    assert result.exit_code == 3 and f"another writer holds {lock}" in result.stderr, result.output
    assert ws.log_head() == head and lock.exists()
    lock.unlink()
    assert ws.run("register", "bundles/big-index").exit_code == 0
    assert ws.run("verify").exit_code == 0


@pytest.mark.parametrize("size", [0, 1, 4 * 64 * 1024 - 1, 4 * 64 * 1024, 20 * _BLOCK, 20 * _BLOCK - 9, 3 * 64 * 1024 * 5 + 7])
def test_objects_written_in_process_are_valid_git_objects_around_block_boundaries(tmp_path: Path, size: int):
    repository = tmp_path / "repo.git"
    git(tmp_path, "init", "--quiet", "--bare", str(repository))
    path = tmp_path / "file.bin"
    path.write_bytes(os.urandom(size))
    objects = GitObjects(repository, repository / "objects")
    sha = objects.write_file(path, hashlib.sha256(path.read_bytes()).hexdigest())
    assert sha == git(tmp_path, "hash-object", str(path)).strip()
    assert git(repository, "cat-file", "-s", sha).strip() == str(size)
    info, data = objects.read(sha)
    assert (info.kind, info.size, data) == ("blob", size, path.read_bytes())
    git(repository, "fsck", "--strict")
    objects.close()


def test_a_commit_on_a_damaged_head_is_refused(git_registered: Workspace):
    ws = git_registered
    storage = ws.storage()
    head = storage.log_head()
    path = Path(ws.repo.git_dir) / "objects" / head[:2] / head[2:]
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(IntegrityFailure, match=f"refs/bundlectl/log points at {head}, which is damaged"):
        storage.append_event(b"{}", "forged", head, [])


# Counts every process the CLI starts, in a fresh interpreter (imports that start git count too).
COUNT = """
import subprocess, sys
started = []
original = subprocess.Popen.__init__
def counting(self, args, *rest, **kwargs):
    started.append(" ".join(map(str, args)))
    original(self, args, *rest, **kwargs)
subprocess.Popen.__init__ = counting
from bundlectl.cli.main import cli
try:
    cli.main(args=sys.argv[1:], prog_name="bundlectl")
except SystemExit as exit:
    assert exit.code == 0, exit.code
print(repr(started), file=sys.stderr)
"""


def processes(ws: Workspace, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", COUNT, *args], cwd=ws.root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return list(eval(done.stderr.strip().splitlines()[-1]))  # the repr() of a list of strings printed above


def test_a_promote_starts_at_most_two_processes(git_registered: Workspace):
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    add(ws, V2, promptfoo_report(ws, "v2"))
    promote(ws, V1, "staging")
    started = processes(ws, "promote", V2, "--env", "staging")
    assert len(started) == 1 and "update-ref --stdin" in started[0], started  # the compare-and-swap itself
    git(ws, "gc", "--quiet")  # everything packed: objects are read through one `git cat-file`
    started = processes(ws, "promote", V1, "--env", "staging")
    assert len(started) <= 2 and not any("git version" in command for command in started), started
    assert ws.json("status")["environments"][0]["version"] == "2026.11.01-1"
    assert ws.run("verify").exit_code == 0


def test_appends_in_one_process_share_one_update_ref_and_survive_a_refused_one(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    from bundlectl.storage.base import LogMoved, PointerUpdate

    ws = git_registered
    storage = ws.storage()
    started: list[str] = []
    original = subprocess.Popen.__init__

    def counting(self, args, *rest, **kwargs):  # type: ignore[no-untyped-def]
        started.append(" ".join(map(str, args)))
        original(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", counting)
    head = storage.log_head()
    first = storage.append_event(b'{"n": 1}', "one", head, [PointerUpdate("envs/x/a", None, b"1")])
    second = storage.append_event(b'{"n": 2}', "two", first, [PointerUpdate("envs/x/a", storage.read_pointer("envs/x/a").token, b"2")])
    assert len(started) == 1 and "update-ref --stdin" in started[0], started
    with pytest.raises(LogMoved):
        storage.append_event(b'{"n": 3}', "three", first, [])  # a stale head: git refuses, and its process ends
    third = storage.append_event(b'{"n": 3}', "three", second, [])
    assert storage.log_head() == third and storage.read_pointer("envs/x/a").value == b"2"
    assert len(started) == 2, started
    assert git(ws, "log", "--format=%s", "-3", "refs/bundlectl/log").split() == ["three", "two", "one"]


def test_a_loose_object_that_inflates_past_its_header_stops_at_the_size_it_claims(tmp_path: Path):
    subprocess.run(["git", "init", "--bare", "--quiet", str(tmp_path / "repo.git")], check=True)
    objects = GitObjects(tmp_path / "repo.git", tmp_path / "repo.git/objects")
    sha = "ab" * 20  # a zlib bomb under an object's name: "blob 10", then 256 MiB of zeros in a 250 KiB file
    bomb = zlib.compressobj(9)
    packed = bomb.compress(b"blob 10\0") + b"".join(bomb.compress(bytes(1 << 20)) for _ in range(256)) + bomb.flush()
    (tmp_path / "repo.git/objects/ab").mkdir()
    (tmp_path / "repo.git/objects/ab" / sha[2:]).write_bytes(packed)
    seen = 0
    with pytest.raises(gitobjects.DamagedObject, match="more than the 10 bytes its header says"):
        with objects.open(sha) as (info, chunks):
            assert info == gitobjects.ObjectInfo("blob", 10)
            for chunk in chunks:
                seen += len(chunk)
    assert seen <= 10
