"""Registering a folder someone else is changing: a symlink flipped in, a hard link to a file outside, a FIFO, a
file name that is not UTF-8. The file hashed is the file opened, checked through its descriptor; what is not a
regular file of the bundle is refused with its name, and nothing is written."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from bundlectl.registry.objects import blob_key
from tests.cli.test_bundles_hostile_input import edit, make_bundle, refused
from tests.conftest import Workspace

SECRET = b"AWS_SECRET_ACCESS_KEY=do-not-ship-me\n"


pytestmark = pytest.mark.parametrize("registry", ["git"], indirect=True)  # the folder is read the same way for both


def flip_until(stop: threading.Event, target: Path, secret: Path) -> None:
    """Swap `target` between its own file and a symlink to `secret`, each swap atomic (a rename over it)."""
    own = target.read_bytes()
    link, copy = target.with_name(".flip-link"), target.with_name(".flip-copy")
    while not stop.is_set():
        link.unlink(missing_ok=True)
        link.symlink_to(secret)
        os.replace(link, target)
        copy.write_bytes(own)
        os.replace(copy, target)


def test_a_symlink_flipped_in_while_registering_never_stores_the_secret(registry: Workspace, tmp_path: Path):
    secret = tmp_path / "secret.env"
    secret.write_bytes(SECRET)
    folder = make_bundle(registry, "flipping")
    stop = threading.Event()
    flipper = threading.Thread(target=flip_until, args=(stop, folder / "runbook.md", secret), daemon=True)
    flipper.start()
    outcomes = []
    try:
        for _ in range(40):
            result = registry.run("register", str(folder))
            assert result.exit_code in (0, 1), result.output  # registered, or refused: never a crash
            outcomes.append(result.exit_code)
    finally:
        stop.set()
        flipper.join()
    storage = registry.storage()
    assert not storage.has_object(blob_key("sha256:" + hashlib.sha256(SECRET).hexdigest()))
    assert registry.run("verify").exit_code == 0
    assert 1 in outcomes  # the race was run (some reads met the symlink and refused it)


def test_a_hard_link_to_a_file_outside_is_refused_unless_allowed(registry: Workspace, tmp_path: Path):
    secret = tmp_path / "secret.env"
    secret.write_bytes(SECRET)
    folder = make_bundle(registry, "linked")
    (folder / "runbook.md").unlink()
    os.link(secret, folder / "runbook.md")
    stderr = refused(registry, folder)
    assert "'runbook.md' has 2 hard links (its content is also another file's)" in stderr
    assert "--allow-hard-links" in stderr
    result = registry.run("register", "--allow-hard-links", str(folder))
    assert result.exit_code == 0, result.output


def test_a_fifo_in_the_bundle_is_refused_without_waiting(registry: Workspace):
    folder = make_bundle(registry, "piped")
    (folder / "runbook.md").unlink()
    os.mkfifo(folder / "runbook.md")
    assert "'runbook.md' is not a regular file or folder" in refused(registry, folder)


def test_a_file_name_that_is_not_utf8_is_refused(registry: Workspace):
    folder = make_bundle(registry, "latin1")
    edit(folder / "bundle.yaml", "files: [evals/provider.py]", "files: [evals]")  # a folder: every file in it is the bundle's
    (folder / "evals" / os.fsdecode(b"caf\xe9.py")).write_text("hello = 1\n")
    stderr = refused(registry, folder)
    assert "holds a file whose name is not UTF-8 (b'caf\\xe9.py')" in stderr
