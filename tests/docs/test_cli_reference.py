"""docs/reference/cli.md is generated from the commands' --help; a stale page fails here (and the site build)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_cli_reference_is_current():
    check = subprocess.run([sys.executable, str(ROOT / "scripts/cli_reference.py"), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_every_command_is_in_the_reference_with_its_examples():
    from bundlectl.cli.main import COMMANDS, WORKFLOW

    page = (ROOT / "docs/reference/cli.md").read_text()
    assert sorted(n for names in WORKFLOW.values() for n in names) == sorted(COMMANDS)  # each command listed once
    for name in COMMANDS:
        assert f"### bundlectl {name}\n" in page
        section = page.split(f"### bundlectl {name}\n")[1].split("\n### ")[0]
        assert "Examples:" in section, f"`bundlectl {name} --help` shows no examples"
    for line in page.splitlines():  # every --env option says what it is (click alone prints `--env TEXT  [required]`)
        if line.strip().startswith("--env TEXT"):
            assert line.split("--env TEXT", 1)[1].replace("[required]", "").strip(), line


def test_the_policy_in_the_docs_is_the_starter_policy_s_shape():
    from bundlectl.policy.starter import STARTER_POLICY

    assert "rollback:" in STARTER_POLICY and "waive: [after, approvals]" in STARTER_POLICY
    assert "## Rollback rules" in (ROOT / "docs/reference/policy.md").read_text()
