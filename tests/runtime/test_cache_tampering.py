"""A runtime cache folder edited by someone else: whatever was planted there is refused or replaced, never served or waited on."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from bundlectl.runtime import Paused, Runtime
from tests.conftest import V2, Workspace
from tests.helpers import promote

pytestmark = pytest.mark.parametrize("registry", ["git"], indirect=True)  # the cache is the same on both backends


def smallest_blob(cache: Path) -> Path:
    return min((cache / "blobs").iterdir(), key=lambda p: p.stat().st_size)


def start_in_a_thread(ws: Workspace, cache: Path) -> Runtime:
    """Start a runtime, failing (not hanging the test run) if its start-up never returns."""
    started: list[Runtime] = []
    thread = threading.Thread(
        target=lambda: started.append(Runtime("support-triage", "staging", cwd=ws.root, cache_dir=cache, follow=False, startup_timeout=2)),
        daemon=True,
    )
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "start-up hung on the planted blob"
    return started[0]


@pytest.mark.parametrize("plant", ["fifo", "endless device"])
def test_a_blob_that_never_ends_does_not_hang_start_up(v1_live: Workspace, runtimes, tmp_path: Path, plant: str):
    cache = tmp_path / "runtime-cache"
    runtimes(v1_live, cache_dir=cache, follow=False).close()
    blob = smallest_blob(cache)
    expected = blob.read_bytes()
    blob.unlink()
    if plant == "fifo":
        os.mkfifo(blob)  # reading it waits for a writer that never comes
    else:
        blob.symlink_to("/dev/zero")  # reading it never ends
    runtime = start_in_a_thread(v1_live, cache)
    try:
        assert runtime.current().version == "2026.11.01-1" and runtime.problem is None  # served from the registry
        assert blob.is_file() and not blob.is_symlink() and blob.read_bytes() == expected  # and the cache repaired
    finally:
        runtime.close()


def test_a_blob_symlinked_elsewhere_is_not_kept(v1_live: Workspace, runtimes, tmp_path: Path):
    cache = tmp_path / "runtime-cache"
    runtimes(v1_live, cache_dir=cache, follow=False).close()
    blob = smallest_blob(cache)
    planted = tmp_path / "planted"
    planted.write_bytes(blob.read_bytes())  # the right bytes today, in a file someone else may edit tomorrow
    blob.unlink()
    blob.symlink_to(planted)
    runtimes(v1_live, cache_dir=cache, follow=False).close()
    assert not blob.is_symlink() and blob.read_bytes() == planted.read_bytes()


def test_a_huge_file_under_a_small_blob_name_is_not_read(v1_live: Workspace, runtimes, tmp_path: Path):
    cache = tmp_path / "runtime-cache"
    runtimes(v1_live, cache_dir=cache, follow=False).close()
    blob = smallest_blob(cache)
    with open(blob, "r+b") as handle:  # sparse: 64 GiB on paper, nothing on disk; read whole it would exhaust memory
        handle.truncate(64 * 1024**3)
    runtime = start_in_a_thread(v1_live, cache)
    try:
        assert runtime.current().version == "2026.11.01-1"
        assert blob.stat().st_size < 1024**2
    finally:
        runtime.close()


def edit_state(cache: Path, edit) -> None:
    state = cache / "live" / "support-triage@staging.json"
    document = json.loads(state.read_text())
    edit(document)
    state.write_text(json.dumps(document))


def test_a_cache_claiming_a_newer_pointer_cannot_pin_an_old_bundle(v1_live: Workspace, runtimes, tmp_path: Path, caplog):
    cache = tmp_path / "runtime-cache"
    runtimes(v1_live, cache_dir=cache, follow=False).close()
    promote(v1_live, V2, "staging")
    edit_state(cache, lambda state: state["pointer"].update(pointer_version=999))  # the old bundle, claimed newest
    with caplog.at_level("WARNING", logger="bundlectl.runtime"):
        runtime = runtimes(v1_live, cache_dir=cache, follow=False)
    assert (runtime.current().version, runtime.current().pointer_version) == ("2026.11.22-1", 2)
    assert "claims pointer version 999 (2026.11.01-1), which the registry's log never set" in caplog.text


def test_a_cache_claiming_a_newer_resume_cannot_hide_a_pause(v1_live: Workspace, runtimes, tmp_path: Path):
    cache = tmp_path / "runtime-cache"
    runtimes(v1_live, cache_dir=cache, follow=False).close()
    assert v1_live.run("pause", "support-triage", "--env", "staging", "--reason", "incident").exit_code == 0
    edit_state(cache, lambda state: state.update(pause={"paused": False, "reason": None, "by": "x", "since": "2026-11-01T00:00:00Z", "seq": 999}))
    runtime = runtimes(v1_live, cache_dir=cache, follow=False)
    with pytest.raises(Paused):
        runtime.current()
