"""Stopping bundlectl part-way: SIGTERM during `register` of a large file leaves no temporary object behind, Ctrl-C
exits 130, and a temporary object a `kill -9` left is removed by the next register."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, Workspace

pytestmark = pytest.mark.parametrize("registry", ["git"], indirect=True)

BIG = 512 * 1024 * 1024  # sparse: cheap to make, yet it takes the writer long enough to be caught part-way


def large_bundle(ws: Workspace) -> Path:
    folder = ws.root / "bundles" / "big-index"
    assert ws.run("new", "big-index", "--dir", "bundles").exit_code == 0
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("index: retriever/index.jsonl", "index: retriever/"))
    with open(folder / "retriever" / "index.bin", "wb") as handle:
        handle.truncate(BIG)
    return folder


def pointers(ws: Workspace) -> list[str]:
    return [line for line in ws.bundlectl_refs().splitlines() if "refs/bundlectl/objects/" not in line]


def temporaries(ws: Workspace) -> list[Path]:
    return list((ws.root / ".git" / "objects").glob("tmp_obj_*"))


def stopped_while_storing(ws: Workspace, folder: Path, sig: int) -> subprocess.CompletedProcess[str]:
    """Run `bundlectl register FOLDER` and send `sig` once its temporary object is being written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bundlectl", "register", str(folder)],
        cwd=ws.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while not temporaries(ws) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert temporaries(ws), "the large file was never being stored"
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "Ctrl-C"])
def test_a_register_stopped_part_way_leaves_nothing_behind(registry: Workspace, sig: int, code: int):
    folder = large_bundle(registry)
    head, pointers_before = registry.log_head(), pointers(registry)
    result = stopped_while_storing(registry, folder, sig)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr
    assert temporaries(registry) == []
    assert registry.log_head() == head and pointers(registry) == pointers_before  # objects stored whole may stay: they are
    # content-addressed and reused by the next register, but nothing was registered


def test_a_temporary_object_a_killed_register_left_is_removed_by_the_next(registry: Workspace):
    folder = large_bundle(registry)
    left = registry.root / ".git" / "objects" / "tmp_obj_0123456789ab"
    left.write_bytes(b"\0" * 1024)  # what `kill -9` part-way leaves: no lock held, nothing written since
    os.utime(left, (time.time() - 3600, time.time() - 3600))
    fresh = registry.root / ".git" / "objects" / "tmp_obj_ba9876543210"
    fresh.write_bytes(b"\0" * 1024)  # someone writing right now: spared
    result = registry.run("register", str(folder))
    assert result.exit_code == 0, result.output
    assert temporaries(registry) == [fresh]
