import os
import shutil
import time
from pathlib import Path

import pytest
import yaml

from bundlectl.bundle.folder import read_bundle_folder
from bundlectl.digest import filehash
from bundlectl.digest.filehash import FileHasher, sha256_file
from tests.conftest import EXAMPLES


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "b"
    shutil.copytree(EXAMPLES / "support-triage-v1", target)
    return target


def record(path: Path):
    return read_bundle_folder(path).record


def test_reformatting_and_reordering_yaml_keeps_every_digest(bundle: Path):
    before = record(bundle)
    data = yaml.safe_load((bundle / "bundle.yaml").read_text())
    reordered = {
        "components": dict(reversed(list(data["components"].items()))),
        "metadata": data["metadata"],
        "kind": data["kind"],
        "apiVersion": data["apiVersion"],
    }
    (bundle / "bundle.yaml").write_text(yaml.safe_dump(reordered, default_flow_style=True, width=10_000))
    after = record(bundle)
    assert after.digest == before.digest
    assert {k: c.digest for k, c in after.components.items()} == {k: c.digest for k, c in before.components.items()}


def test_one_byte_in_a_file_changes_that_component_and_the_bundle_only(bundle: Path):
    before = record(bundle)
    path = bundle / "policy/guardrails.yaml"
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))
    after = record(bundle)
    assert after.digest != before.digest
    changed = [k for k in before.components if before.components[k].digest != after.components[k].digest]
    assert changed == ["guardrails"]


def test_bookkeeping_metadata_does_not_change_the_bundle_digest(bundle: Path):
    before = record(bundle)
    text = (bundle / "bundle.yaml").read_text()
    text = text.replace("version: 2026.11.01-1", "version: 9.9.9").replace("owner: ops-triage@example.com", "owner: x@y")
    (bundle / "bundle.yaml").write_text(text)
    after = record(bundle)
    assert after.digest == before.digest and after.record_digest != before.record_digest


def test_outcome_is_behaviour_and_changes_the_bundle_digest(bundle: Path):
    before = record(bundle)
    text = (bundle / "bundle.yaml").read_text().replace("target: 0.92", "target: 0.95")
    (bundle / "bundle.yaml").write_text(text)
    assert record(bundle).digest != before.digest


def test_writing_a_default_explicitly_keeps_the_digest(bundle: Path):
    before = record(bundle)
    text = (bundle / "bundle.yaml").read_text()
    text = text.replace("    snapshot: gpt-4o-2024-08-06\n", "    snapshot: gpt-4o-2024-08-06\n    allow_floating: false\n")
    (bundle / "bundle.yaml").write_text(text)
    assert record(bundle).components["model"].digest == before.components["model"].digest


def test_renaming_a_file_changes_the_component_digest(bundle: Path):
    before = record(bundle)
    (bundle / "runbook.md").rename(bundle / "RUNBOOK.md")
    text = (bundle / "bundle.yaml").read_text().replace("file: runbook.md", "file: RUNBOOK.md")
    (bundle / "bundle.yaml").write_text(text)
    assert record(bundle).components["runbook"].digest != before.components["runbook"].digest


def test_sha256_file_matches_hashlib(tmp_path: Path):
    import hashlib

    data = os.urandom(3 * filehash.CHUNK + 17)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    seen = []
    assert sha256_file(path, seen.append) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert sum(seen) == len(data)


@pytest.fixture(autouse=True)
def short_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files in these tests are seconds old at most; a 10 ms window keeps the racy rule without sleeping."""
    monkeypatch.setattr(filehash, "RACY_WINDOW_NS", 10_000_000)


def _old_file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    time.sleep(0.02)
    return path


def test_unchanged_large_file_is_hashed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _old_file(tmp_path, b"x" * (filehash.CACHE_MIN_BYTES + 1))
    calls = []
    real = filehash.sha256_handle
    monkeypatch.setattr(filehash, "sha256_handle", lambda h, progress=None: calls.append(h) or real(h, progress))
    first = FileHasher(tmp_path / "c.sqlite").digest(path)
    second = FileHasher(tmp_path / "c.sqlite").digest(path)
    assert first == second and len(calls) == 1


def test_changed_file_with_same_size_is_hashed_again(tmp_path: Path):
    path = _old_file(tmp_path, b"x" * (filehash.CACHE_MIN_BYTES + 1))
    hasher = FileHasher(tmp_path / "c.sqlite")
    first = hasher.digest(path)
    path.write_bytes(b"y" * (filehash.CACHE_MIN_BYTES + 1))
    os.utime(path, (1_000_000_000, 1_000_000_000))  # even with the old mtime: ctime moved
    assert hasher.digest(path) != first


def test_fresh_files_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(filehash, "RACY_WINDOW_NS", 1_000_000_000)
    path = tmp_path / "new.bin"
    path.write_bytes(b"z" * (filehash.CACHE_MIN_BYTES + 1))
    calls = []
    real = filehash.sha256_handle
    monkeypatch.setattr(filehash, "sha256_handle", lambda h, progress=None: calls.append(h) or real(h, progress))
    FileHasher(tmp_path / "c.sqlite").digest(path)
    FileHasher(tmp_path / "c.sqlite").digest(path)
    assert len(calls) == 2  # modified within the racy window: never trusted from cache


def test_cache_is_safe_to_delete_or_corrupt(tmp_path: Path):
    path = _old_file(tmp_path, b"q" * (filehash.CACHE_MIN_BYTES + 1))
    cache = tmp_path / "c.sqlite"
    expected = FileHasher(cache).digest(path)
    cache.unlink()
    assert FileHasher(cache).digest(path) == expected
    cache.write_bytes(b"not a database")
    assert FileHasher(cache).digest(path) == expected


@pytest.mark.parametrize("shared", ["folder", "file"])
def test_a_hash_cache_others_can_write_vouches_for_nothing(tmp_path: Path, shared: str):
    import sqlite3

    folder = tmp_path / "shared-cache"
    folder.mkdir()
    path = _old_file(tmp_path, b"EVIL" * (filehash.CACHE_MIN_BYTES // 4 + 1))  # a file someone else put there
    cache = folder / "filehash.sqlite"
    found = os.stat(path)
    claimed = "sha256:" + "ab" * 32  # the digest of the file they want it taken for
    with sqlite3.connect(cache) as db:  # the row they wrote
        db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, dev INT, ino INT, size INT, mtime_ns INT, ctime_ns INT, digest TEXT)")
        db.execute(
            "INSERT INTO files VALUES (?,?,?,?,?,?,?)",
            (str(path.resolve()), found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns, claimed),
        )
    os.chmod(folder if shared == "folder" else cache, 0o777 if shared == "folder" else 0o666)
    assert FileHasher(cache).digest(path) == sha256_file(path) != claimed  # hashed, the row not believed
    os.chmod(folder, 0o755)
    os.chmod(cache, 0o644)
    assert FileHasher(cache).digest(path) == claimed  # the same row in a cache only this user writes is used
