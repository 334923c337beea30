"""The tutorial, run as written: every `sh` block of docs/tutorial.md, in order, in one shell, with real promptfoo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

TUTORIAL = ROOT / "docs/tutorial.md"


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", markdown, flags=re.S | re.M)


def test_the_tutorial_runs_as_written(tmp_path: Path, promptfoo_env: str):
    blocks = shell_blocks(TUTORIAL.read_text())
    assert len(blocks) >= 6 and any("--register-only" in b for b in blocks) and any("audit --request-id" in b for b in blocks)
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]), "NO_COLOR": "1"}
    env.pop("BUNDLECTL_ACTOR", None)  # the tutorial's reader acts as their git identity
    for variable, value in (("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig")), ("GIT_CONFIG_NOSYSTEM", "1")):
        env[variable] = value
    (tmp_path / "gitconfig").write_text("[user]\n\tname = Ada\n\temail = ada@example.com\n")
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"the tutorial failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    project = tmp_path / "faq-project"
    status = subprocess.run(["bundlectl", "status", "--json"], cwd=project, env=env, capture_output=True, text=True, check=True)
    live = {e["env"]: e for e in json.loads(status.stdout)["environments"]}
    assert live["staging"]["version"] == "0.2.0" and live["production"]["version"] == "0.2.0+rb.prompt"
    assert live["production"]["verified"] is True  # through the gate, not the glass
    audit = subprocess.run(
        ["bundlectl", "audit", "--request-id", "req-0001", "--log", "requests.jsonl", "--json"], cwd=project, env=env, capture_output=True, text=True
    )
    assert audit.returncode == 0, audit.stderr
    assert '"0.2.0+rb.prompt"' in audit.stdout and '"consistent": true' in audit.stdout
    assert "--break-glass --reason" not in "\n".join(blocks)  # the documented path, not the glass
