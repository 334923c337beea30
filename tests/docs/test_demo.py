"""examples/demo.sh, up to where it needs npm: plain text when piped, commands printed as typed, its registry kept
in a named folder that works from the user's shell, and no scratch folder left in /tmp."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

TOOLS = ["bash", "git", "mktemp", "rm", "mkdir", "dirname", "sed", "grep", "date", "cat", "tail", "env", "python3", "ls"]


def test_the_demo_without_npm_is_plain_text_with_its_quoting_and_leaves_its_registry_named(tmp_path: Path):
    bin_dir = tmp_path / "bin"  # what the demo needs, and no npm: it stops before the evidence walk
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    for tool in ("bundlectl", "python"):
        (bin_dir / tool).symlink_to(Path(sys.executable).parent / tool)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "TMPDIR": str(scratch),
        "BUNDLECTL_DEMO_DIR": str(tmp_path / "demo"),
        "BUNDLECTL_CACHE_DIR": str(tmp_path / "cache"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    run = subprocess.run(["bash", str(ROOT / "examples/demo.sh")], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "\033[" not in run.stdout + run.stderr  # piped: no escape codes
    assert "$ bundlectl register bundles/support-triage-v1 --reason 'first release'" in run.stdout
    registry = tmp_path / "demo/registry.git"
    assert f"export BUNDLECTL_REGISTRY={registry}" in run.stdout and registry.is_dir()
    listed = subprocess.run(
        [str(bin_dir / "bundlectl"), "list", "--json"], env={**env, "BUNDLECTL_REGISTRY": str(registry)}, capture_output=True, text=True, cwd=tmp_path
    )
    assert listed.returncode == 0 and "support-triage" in listed.stdout  # the printed line works in the user's shell
    assert list(scratch.iterdir()) == []  # the scratch folder is gone
