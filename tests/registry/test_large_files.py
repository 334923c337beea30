"""Files larger than the chunk size, on both backends: streamed in and out byte-exact, and checked by verify.

The chunk sizes are made small here (64 KiB reads, uncompressed git blobs from 256 KiB, 5 MiB S3 parts,
S3's smallest) so that a file of a few MB is "large": many chunks, many stored blocks, several parts.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from bundlectl.runtime import RegistryUnavailable, Runtime
from bundlectl.trust.identity import claimed
from tests.conftest import Workspace
from tests.helpers import promote, set_policy, write_behind_bundlectl

BIG = "retriever/index.bin"
REF = "big-index@0.1.0"
SMALL_CHUNK = 64 * 1024
SIZE = 2 * 5 * 1024 * 1024 + 12345  # three S3 parts, 160 read chunks, and a ragged end


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import bundlectl.storage.base as base
    import bundlectl.storage.gitobjects as gitobjects
    import bundlectl.storage.s3 as s3

    monkeypatch.setattr(base, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(s3, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(gitobjects, "UNCOMPRESSED_FROM", 4 * SMALL_CHUNK)
    monkeypatch.setattr(s3, "MULTIPART_THRESHOLD", 6 * 1024 * 1024)
    monkeypatch.setattr(s3, "PART_SIZE", 5 * 1024 * 1024)


def big_bundle(ws: Workspace, size: int = SIZE, version: str = "0.1.0") -> bytes:
    """bundles/big-index: a new bundle whose retriever component is a folder holding one random file of `size` bytes."""
    folder = ws.root / "bundles" / "big-index"
    if not folder.exists():
        result = ws.run("new", "big-index", "--dir", "bundles")
        assert result.exit_code == 0, result.output
    manifest = folder / "bundle.yaml"
    text = manifest.read_text().replace("index: retriever/index.jsonl", "index: retriever/")
    manifest.write_text(text.replace("version: 0.1.0", f"version: {version}"))
    data = os.urandom(size)
    (folder / BIG).write_bytes(data)
    return data


def key_of(data: bytes) -> str:
    return "blobs/" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def big(registry: Workspace) -> tuple[Workspace, bytes]:
    data = big_bundle(registry)
    result = registry.run("register", "bundles/big-index")
    assert result.exit_code == 0, result.output
    return registry, data


def live(ws: Workspace) -> Runtime:
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, REF, "staging")
    return Runtime("big-index", "staging", cwd=ws.root, poll_interval=10, files_dir=ws.root.parent / "files")


def test_a_large_file_round_trips_through_export_and_the_runtime(big: tuple[Workspace, bytes]):
    ws, data = big
    assert ws.run("export", REF, "out").exit_code == 0
    assert (ws.root / "out" / BIG).read_bytes() == data
    assert ws.json("show", "out")["digest"] == ws.json("show", REF)["digest"]
    bundle = live(ws).current()
    assert bundle.file(BIG) == data
    local = bundle.path(BIG)
    assert local.read_bytes() == data and local.name == hashlib.sha256(data).hexdigest()
    assert not os.stat(local).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)  # read-only
    assert not [p for p in local.parent.iterdir() if p != local]  # nothing half-written is left beside it
    assert ws.run("verify").exit_code == 0


def test_objects_are_read_in_chunks(big: tuple[Workspace, bytes]):
    ws, data = big
    with ws.storage().open_object(key_of(data)) as chunks:
        sizes = [len(chunk) for chunk in chunks]
    assert sum(sizes) == len(data) and len(sizes) >= len(data) // SMALL_CHUNK and max(sizes) <= SMALL_CHUNK


def test_verify_names_a_corrupted_large_file_and_export_and_the_runtime_refuse_it(big: tuple[Workspace, bytes]):
    ws, data = big
    runtime = live(ws)  # prefetched and checked its copy before the damage
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0xFF  # same length, one byte different, in a middle chunk
    write_behind_bundlectl(ws, "objects/" + key_of(data), bytes(changed))
    verified = ws.run("verify")
    assert verified.exit_code == 5, verified.output
    assert f"{REF} {BIG}: stored object {key_of(data)} does not match its digest" in verified.stderr
    exported = ws.run("export", REF, "out")
    assert exported.exit_code == 5 and "does not match its digest" in exported.stderr
    assert not (ws.root / "out").exists() and not list(ws.root.glob(".bundlectl-export-*"))  # nothing half-written is left
    assert runtime.current().path(BIG).read_bytes() == data  # the verified copy keeps serving
    fresh_files = ws.root.parent / "fresh-files"
    with pytest.raises(RegistryUnavailable, match="does not match its digest"):
        Runtime("big-index", "staging", cwd=ws.root, poll_interval=10, startup_timeout=30, files_dir=fresh_files)
    assert not fresh_files.exists() or not [p for p in fresh_files.rglob("*") if p.is_file()]  # nothing half-written


def test_a_local_copy_changed_behind_the_runtime_is_replaced(big: tuple[Workspace, bytes]):
    ws, data = big
    local = live(ws).current().path(BIG)
    os.chmod(local, 0o644)
    with open(local, "r+b") as handle:
        handle.seek(len(data) // 3)
        handle.write(b"tampered")
    again = Runtime("big-index", "staging", cwd=ws.root, poll_interval=10, files_dir=ws.root.parent / "files")
    assert again.current().path(BIG) == local and local.read_bytes() == data


def test_an_interrupted_read_leaves_the_storage_usable(big: tuple[Workspace, bytes]):
    ws, data = big
    storage = ws.storage()
    with storage.open_object(key_of(data)) as chunks:
        next(iter(chunks))  # stop after the first chunk
    assert storage.get_object(key_of(data)) == data


def test_a_large_file_already_stored_is_not_stored_again(big: tuple[Workspace, bytes]):
    from bundlectl.bundle.folder import read_bundle_folder
    from bundlectl.registry.bundles import register_bundle

    ws, _ = big
    manifest = ws.root / "bundles/big-index/bundle.yaml"
    manifest.write_text(manifest.read_text().replace("version: 0.1.0", "version: 0.1.1"))
    result = register_bundle(ws.storage(), read_bundle_folder(ws.root / "bundles/big-index"), claimed("tester@example.com"))
    assert result.created and result.stored_files == 0
    assert ws.run("verify").exit_code == 0


def test_a_file_changed_after_it_was_hashed_is_refused_and_nothing_is_registered(registry: Workspace):
    from bundlectl.bundle.folder import read_bundle_folder
    from bundlectl.errors import Refused
    from bundlectl.registry.bundles import register_bundle

    ws = registry
    data = big_bundle(ws)
    folder = read_bundle_folder(ws.root / "bundles/big-index")  # hashed now
    path = ws.root / "bundles/big-index" / BIG
    with open(path, "r+b") as handle:  # then changed in place, same size
        handle.seek(SIZE // 2)
        handle.write(b"changed")
    head = ws.log_head()
    with pytest.raises(Refused, match=f"{path} changed after it was hashed"):
        register_bundle(ws.storage(), folder, claimed("tester@example.com"))
    assert ws.log_head() == head and not ws.storage().has_object(key_of(data))  # no key names other content
    if ws.backend == "s3":  # the multipart upload was aborted, not left behind
        storage = ws.storage()
        assert not storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads")
    assert ws.run("register", "bundles/big-index").exit_code == 0  # hashed again, as it now is
    assert ws.run("verify").exit_code == 0


def test_files_of_exactly_a_chunk_and_empty_ones_round_trip(registry: Workspace):
    ws = registry
    big_bundle(ws, 4 * SMALL_CHUNK)  # exactly where git stops compressing
    folder = ws.root / "bundles" / "big-index"
    (folder / "retriever" / "empty.bin").write_bytes(b"")
    (folder / "retriever" / "chunk.bin").write_bytes(os.urandom(SMALL_CHUNK))
    (folder / "retriever" / "odd.bin").write_bytes(os.urandom(SMALL_CHUNK + 1))
    (folder / "retriever" / "part.bin").write_bytes(os.urandom(6 * 1024 * 1024))  # exactly where S3 goes multipart
    assert ws.run("register", "bundles/big-index").exit_code == 0
    assert ws.run("export", REF, "out").exit_code == 0
    for name in ("index.bin", "empty.bin", "chunk.bin", "odd.bin", "part.bin"):
        assert (ws.root / "out/retriever" / name).read_bytes() == (folder / "retriever" / name).read_bytes()
    assert ws.run("verify").exit_code == 0


def test_a_registry_copy_carries_a_large_file_byte_exact(big: tuple[Workspace, bytes], tmp_path: Path):
    ws, data = big
    copy = tmp_path / "copy.git"
    result = ws.run("registry", "copy", os.environ.get("BUNDLECTL_REGISTRY") or str(ws.root), str(copy))
    assert result.exit_code == 0, result.output
    assert ws.run("verify", "--registry", str(copy)).exit_code == 0
    assert ws.run("export", REF, str(tmp_path / "out"), "--registry", str(copy)).exit_code == 0
    assert (tmp_path / "out" / BIG).read_bytes() == data


def test_diff_describes_a_changed_large_file_without_reading_it(big: tuple[Workspace, bytes], monkeypatch: pytest.MonkeyPatch):
    import bundlectl.registry.bundles as bundles

    ws, data = big
    new = big_bundle(ws, version="0.2.0")
    assert ws.run("register", "bundles/big-index").exit_code == 0
    read: list[str] = []
    copy_blob = bundles.copy_blob
    monkeypatch.setattr(bundles, "copy_blob", lambda storage, digest, label, write: (read.append(label), copy_blob(storage, digest, label, write)))
    diff = ws.json("diff", REF, "big-index@0.2.0")
    text = diff["components"]["retriever"]["text_diffs"][BIG]
    assert text.startswith(f"large file {BIG} changed ({len(data)} bytes, sha256:") and "not diffed" in text
    assert len(new) == len(data) and not [label for label in read if label.endswith(BIG)]


def test_a_process_starting_while_the_registry_is_damaged_serves_the_large_file_from_its_cache(big: tuple[Workspace, bytes]):
    ws, data = big
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, REF, "staging")
    cache = ws.root.parent / "runtime-cache"
    with Runtime("big-index", "staging", cwd=ws.root, poll_interval=10, cache_dir=cache) as first:
        copy = first.current().path(BIG)
    assert copy.parent == cache / "blobs" and copy.read_bytes() == data  # the cache holds the one local copy
    write_behind_bundlectl(ws, "pointers/envs/big-index/staging", b"not a pointer")
    with Runtime("big-index", "staging", cwd=ws.root, poll_interval=10, cache_dir=cache) as second:
        assert second.current().path(BIG).read_bytes() == data
        assert second.problem is not None and "from the cache" in second.problem
    os.chmod(copy, 0o644)
    with open(copy, "r+b") as handle:
        handle.write(b"tampered")
    with pytest.raises(RegistryUnavailable, match=f"the cached copy of {BIG} is missing or does not match its digest"):
        Runtime("big-index", "staging", cwd=ws.root, poll_interval=10, cache_dir=cache, startup_timeout=30)


def test_a_partial_copy_left_by_a_killed_process_is_removed_and_one_being_written_is_kept(tmp_path: Path):
    import fcntl
    import subprocess
    import sys

    from bundlectl.runtime.files import copy_path, local_copy

    data = os.urandom(100_000)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    folder = tmp_path / "files"
    killed = (
        "import os, signal, sys\nfrom pathlib import Path\nfrom bundlectl.runtime.files import local_copy\n"
        "def half(handle):\n    handle.write(b'x' * 50_000); handle.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
        "local_copy(Path(sys.argv[1]), sys.argv[2], 100_000, half)\n"
    )
    assert subprocess.run([sys.executable, "-c", killed, str(folder), digest]).returncode == -9
    [left] = folder.glob(".*.partial")  # a runtime killed while copying a large file out of the registry
    os.utime(left, (1, 1))
    live = folder / f".{copy_path(folder, digest).name}.0123abcd.partial"
    with open(live, "wb") as handle:  # another process copying the same file right now
        fcntl.flock(handle, fcntl.LOCK_EX)
        os.utime(live, (1, 1))
        assert local_copy(folder, digest, len(data), lambda out: out.write(data)).read_bytes() == data
        assert not left.exists() and live.exists()


def test_a_partial_copy_swapped_for_a_symlink_changes_no_other_file_and_is_not_installed(tmp_path: Path):
    from hashlib import sha256

    from bundlectl.errors import IntegrityFailure
    from bundlectl.runtime.files import local_copy

    blobs = tmp_path / "blobs"
    victim = tmp_path / "credentials"  # a file of the runtime's user, readable by it alone
    victim.write_text("aws_secret_access_key=…\n")
    victim.chmod(0o600)
    data = b"weights " * 100_000
    digest = "sha256:" + sha256(data).hexdigest()

    def write_while_swapped(handle) -> None:  # another process swaps the partial file's name while the copy is written
        handle.write(data)
        (partial,) = blobs.glob(".*.partial")
        planted = blobs / "planted"
        planted.symlink_to(victim)
        os.replace(planted, partial)

    with pytest.raises(IntegrityFailure) as err:
        local_copy(blobs, digest, len(data), write_while_swapped)
    assert "was replaced by another file" in err.value.message
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600  # the chmod did not follow the link
    assert list(blobs.iterdir()) == []  # neither the symlink nor a partial file is left as the copy
