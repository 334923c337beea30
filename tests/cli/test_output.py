"""Long hashing shows a progress bar on a terminal, and nothing when output is piped."""

import os
import pty
import re
import subprocess
import sys

from tests.conftest import Workspace


def big_bundle(ws: Workspace) -> str:
    assert ws.run("new", "big").exit_code == 0
    folder = ws.root / "bundles/big"
    with open(folder / "retriever/index.bin", "wb") as handle:
        handle.write(os.urandom(1024 * 1024) * 40)
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("index: retriever/index.jsonl", "index: retriever/"))
    return str(folder)


def test_progress_bar_on_a_terminal_only(workspace: Workspace):
    folder = big_bundle(workspace)
    captured = on_a_terminal([sys.executable, "-m", "bundlectl", "validate", folder], workspace.root)
    assert b"hashing big" in captured and b"100%" in captured

    piped = subprocess.run([sys.executable, "-m", "bundlectl", "validate", folder], cwd=workspace.root, capture_output=True, timeout=120, check=False)
    assert piped.returncode == 0 and b"hashing" not in piped.stderr


def on_a_terminal(command: list[str], cwd) -> bytes:
    """What `command` writes to stderr when stderr is a terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=follower, timeout=120, check=False)
    os.close(follower)
    captured = b""
    try:
        while chunk := os.read(leader, 65536):
            captured += chunk
    except OSError:
        pass
    os.close(leader)
    assert proc.returncode == 0, captured
    return captured


def test_register_shows_hashing_and_storing_on_a_terminal(workspace: Workspace):
    folder = big_bundle(workspace)
    assert workspace.run("init").exit_code == 0
    captured = on_a_terminal([sys.executable, "-m", "bundlectl", "register", folder], workspace.root)
    assert b"hashing big" in captured and b"storing files" in captured
    assert captured.count(b"100%") >= 2
    # storing advances chunk by chunk, not in one step at the end
    storing = captured[captured.index(b"storing files") :]
    assert len({m for m in re.findall(rb"(\d+)%", storing)}) >= 3
