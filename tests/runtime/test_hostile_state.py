"""A shared cache folder with FIFOs and endless devices planted in it: start-up stays within its timeout, a running
runtime keeps following pauses, and nothing planted is waited on or read into memory."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from bundlectl.runtime import Runtime
from tests.conftest import Workspace
from tests.runtime.conftest import wait_until

pytestmark = pytest.mark.parametrize("registry", ["git"], indirect=True)  # the cache is the same on both backends

STARTUP = 2.0
POLL = 0.2
STATE = "live/support-triage@staging.json"


def plant(path: Path, what: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    if what == "fifo":
        os.mkfifo(path)  # opening it for reading waits for a writer that never comes
    elif what == "endless device":
        path.symlink_to("/dev/zero")  # reading it never ends
    else:  # a sparse gigabyte: read whole, it would take the memory of a small container
        with open(path, "wb") as handle:
            handle.truncate(1024**3)


class Unreachable:
    """The registry at `url`, during an outage."""

    def __init__(self, url: str) -> None:
        self.url = url

    def read_pointer_if_changed(self, name: str, token: str | None) -> None:
        raise ConnectionRefusedError("connection refused")


def start_within(ws: Workspace, cache: Path, seconds: float) -> tuple[Runtime, float]:
    """Start a runtime in a thread; fails (without hanging the run) unless start-up returned within `seconds`."""
    started: list[Runtime] = []
    began = time.monotonic()
    thread = threading.Thread(
        target=lambda: started.append(
            Runtime("support-triage", "staging", cwd=ws.root, cache_dir=cache, poll_interval=POLL, startup_timeout=STARTUP)
        ),
        daemon=True,
    )
    thread.start()
    thread.join(seconds + 10)
    assert not thread.is_alive(), "start-up hung on the planted state file"
    return started[0], time.monotonic() - began


@pytest.mark.parametrize("what", ["fifo", "endless device", "sparse gigabyte"])
def test_a_planted_state_file_does_not_hang_or_exhaust_start_up(v1_live: Workspace, runtimes, tmp_path: Path, what: str):
    cache = tmp_path / "runtime-cache"
    runtimes(v1_live, cache_dir=cache, follow=False).close()
    plant(cache / STATE, what)
    runtime, elapsed = start_within(v1_live, cache, STARTUP + 1)
    try:
        assert elapsed < STARTUP + 1.0, elapsed
        assert runtime.current().version == "2026.11.01-1" and runtime.problem is None  # served from the registry
        state = os.lstat(cache / STATE)
        assert stat.S_ISREG(state.st_mode) and state.st_size < 1024**2  # and the planted file replaced by the state
    finally:
        runtime.close()
    assert not list((cache / "in-use").iterdir())  # its lease went with it
    assert not [p for p in (cache / "live").iterdir() if p.name.endswith(".tmp")]


def test_a_planted_state_file_is_named_when_the_registry_cannot_help(v1_live: Workspace, runtimes, tmp_path: Path):
    from bundlectl.runtime import RegistryUnavailable

    cache = tmp_path / "runtime-cache"
    runtimes(v1_live, cache_dir=cache, follow=False).close()
    plant(cache / STATE, "fifo")
    with pytest.raises(RegistryUnavailable) as err:
        Runtime("support-triage", "staging", storage=Unreachable(v1_live.storage().url), cache_dir=cache, startup_timeout=1.0)
    assert "is a FIFO (named pipe), not a regular file" in err.value.message
    assert stat.S_ISFIFO(os.lstat(cache / STATE).st_mode)  # a failed start-up writes nothing


@pytest.mark.parametrize("what", ["fifo", "endless device"])
def test_files_planted_by_another_bundle_in_a_shared_folder_do_not_stop_pauses(v1_live: Workspace, runtimes, tmp_path: Path, what: str):
    cache = tmp_path / "runtime-cache"
    runtime = runtimes(v1_live, cache_dir=cache, poll_interval=POLL)
    plant(cache / "in-use" / "other-bundle@prod.0123456789abcdef.json", what)
    plant(cache / "live" / "other-bundle@prod.json", what)
    assert v1_live.run("pause", "support-triage", "--env", "staging", "--reason", "incident").exit_code == 0
    wait_until(lambda: runtime.paused is not None, within=POLL + 1.0)
    assert runtime.problem is None
    done = threading.Thread(target=runtime.refresh, daemon=True)
    done.start()
    done.join(5)
    assert not done.is_alive(), "refresh() hung on a planted file"
    assert v1_live.run("resume", "support-triage", "--env", "staging").exit_code == 0  # the save after it, with GC, too
    wait_until(lambda: runtime.paused is None, within=POLL + 1.0)
    runtime.close()
    assert [p.name for p in (cache / "in-use").iterdir()] == ["other-bundle@prod.0123456789abcdef.json"]  # its own lease gone


@pytest.mark.parametrize("what", ["fifo", "endless device", "symlink to a secret", "other bytes"])
def test_a_large_files_copy_swapped_after_verification_is_refused_by_file(
    v1_live: Workspace, runtimes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str
):
    from bundlectl.errors import IntegrityFailure

    monkeypatch.setattr("bundlectl.runtime.files.IN_MEMORY_MAX", 100)  # every file a large one: read from its local copy
    cache = tmp_path / "runtime-cache"
    served = runtimes(v1_live, cache_dir=cache, follow=False).current()
    expected = served.file("runbook.md")
    copy = served.paths["runbook.md"]
    secret = tmp_path / "secret"
    secret.write_bytes(b"TOP-SECRET " * 1000)
    if what == "symlink to a secret":
        copy.unlink()
        copy.symlink_to(secret)
    elif what == "other bytes":
        copy.unlink()
        copy.write_bytes(b"X" * len(expected))
    else:
        plant(copy, what)
    read: list[object] = []

    def reading() -> None:
        try:
            read.append(served.file("runbook.md"))
        except IntegrityFailure as exc:
            read.append(exc)

    thread = threading.Thread(target=reading, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "file() waited on what was planted"
    (refused,) = read
    assert isinstance(refused, IntegrityFailure) and "runbook.md" in refused.message and "no longer the verified file" in refused.message
