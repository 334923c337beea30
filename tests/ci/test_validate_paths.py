"""`validate` as CI and pre-commit call it: files inside bundles, folders of bundles, annotations."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT, V1, Workspace
from tests.helpers import promptfoo_report, set_policy


def test_a_file_inside_a_bundle_validates_its_bundle_once(workspace: Workspace):
    result = workspace.run(
        "validate", "--json", "bundles/support-triage-v1/prompts/system.md", "bundles/support-triage-v1/runbook.md", "bundles/support-triage-v1"
    )
    assert result.exit_code == 0, result.output
    assert [r["path"] for r in json.loads(result.stdout)["results"]] == ["bundles/support-triage-v1"]


def test_a_folder_of_bundles_validates_each(workspace: Workspace):
    result = workspace.run("validate", "--json", "bundles")
    assert result.exit_code == 0, result.output
    assert [r["path"] for r in json.loads(result.stdout)["results"]] == ["bundles/support-triage-v1", "bundles/support-triage-v2"]


def test_a_file_in_no_bundle_is_refused_unless_the_paths_are_changed_files(workspace: Workspace):
    (workspace.root / "bundles" / "README.md").write_text("bundles live here\n")
    refused = workspace.run("validate", "bundles/README.md")
    assert refused.exit_code == 1
    assert "bundles/README.md: is not inside a bundle folder (no bundle.yaml beside it or above it)" in refused.stderr
    skipped = workspace.run("validate", "--changed", "bundles/README.md", "bundles/support-triage-v2/bundle.yaml")
    assert skipped.exit_code == 0 and "support-triage@2026.11.22-1" in skipped.stdout
    empty = workspace.run("validate", "bundles/support-triage-v1/prompts")
    assert empty.exit_code == 1 and "prompts: has no bundle.yaml in it or below it" in empty.stderr


def test_validate_format_github_annotates_the_line(workspace: Workspace):
    manifest = workspace.root / "bundles/support-triage-v1/bundle.yaml"
    manifest.write_text(manifest.read_text().replace("snapshot: gpt-4o-2024-08-06", "snapshot: gpt-4o"))
    result = workspace.run("validate", "--format", "github", "bundles")
    assert result.exit_code == 1
    [annotation] = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotation == (
        "::error file=bundles/support-triage-v1/bundle.yaml,line=14,title=bundlectl validate::"
        "components.model.snapshot: snapshot 'gpt-4o' is a floating alias; pin a dated snapshot "
        "(e.g. gpt-4o-2024-08-06) or set allow_floating: true"
    )
    assert "✓ bundles/support-triage-v2" in result.stdout  # the rest of the log is still there
    both = workspace.run("validate", "--json", "--format", "github", "bundles")
    assert both.exit_code == 2 and "--json and --format github ask for two different outputs" in both.stderr


def test_gate_format_github_annotates_each_failing_check(registered: Workspace):
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 1, min_pass_rate: 0.95}}}\n")
    assert registered.run("evidence", "add", V1, promptfoo_report(registered, "v1")).exit_code == 0
    result = registered.run("gate", V1, "--env", "staging", "--format", "github")
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    # a property's ':' and ',' are escaped as the runner expects (%3A, %2C)
    assert annotations == [
        "::error title=gate support-triage@2026.11.01-1 → staging%3A eval.pass_rate::96/108 passed (measured 0.888889, needs 0.95)"
    ]


def test_pre_commit_hook_validates_the_bundles_a_change_touches(workspace: Workspace):
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "bundlectl-validate" and hook["language"] == "python" and hook["require_serial"] is True
    changed = [
        "README.md",
        "bundles/README.md",
        "bundles/support-triage-v1/prompts/system.md",
        "bundles/support-triage-v1/runbook.md",
        "bundles/support-triage-v2/tools/manifest.json",
    ]
    (workspace.root / "README.md").write_text("project\n")
    (workspace.root / "bundles/README.md").write_text("bundles\n")

    def run_hook() -> subprocess.CompletedProcess[str]:
        """As pre-commit runs it: `entry`, then the changed files its `files` pattern matches."""
        files = [f for f in changed if re.search(hook["files"], f)]
        command = shlex.split(hook["entry"])
        command[0] = str(Path(sys.executable).parent / command[0])
        return subprocess.run([*command, *files], cwd=workspace.root, capture_output=True, text=True, timeout=120)

    passed = run_hook()
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.count("✓ ") == 2  # each bundle once; README.md filtered out, bundles/README.md skipped
    prompt = workspace.root / "bundles/support-triage-v1/bundle.yaml"
    prompt.write_text(prompt.read_text().replace("files: [prompts/system.md, prompts/user.j2]", "files: [prompts/system.md, prompts/gone.j2]"))
    failed = run_hook()
    assert failed.returncode == 1 and "bundles/support-triage-v1/bundle.yaml:18: components.prompt.files.1" in failed.stderr
