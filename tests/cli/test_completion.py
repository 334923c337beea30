"""`bundlectl completion`: the script a shell sources, and live completion of refs, names and environments,
exercised through real bash as a user's Tab key would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import V1, Workspace
from tests.helpers import promote, set_policy


def complete(cwd: Path, *words: str) -> list[str]:
    """What bash offers for the last word of `bundlectl WORDS…`, using the script `bundlectl completion bash` prints."""
    script = (
        'source <(bundlectl completion bash); COMPREPLY=(); COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
        '_bundlectl_completion bundlectl; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script, "bash", "bundlectl", *words], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture
def live(git_registered: Workspace) -> Workspace:
    set_policy(git_registered, "environments:\n  staging: {}\n  production: {after: staging}\n")
    promote(git_registered, V1, "staging")
    return git_registered


def test_commands_refs_names_and_environments_complete(live: Workspace):
    assert complete(live.root, "comp") == ["completion"]
    assert complete(live.root, "gate", "support-triage@2026") == ["support-triage@2026.11.01-1", "support-triage@2026.11.22-1"]
    assert complete(live.root, "show", "supp")[-1] == "support-triage@staging"  # what is live, by environment
    assert sorted(complete(live.root, "promote", V1, "--env", "")) == ["production", "staging"]
    assert complete(live.root, "rollback", "s") == ["support-triage"]
    assert complete(live.root, "history", "support-triage", "--env", "st") == ["staging"]


def test_an_explicit_registry_is_used_and_no_registry_means_no_candidates(live: Workspace, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert complete(elsewhere, "gate", "supp") == []  # no registry here: nothing offered, nothing printed
    assert complete(elsewhere, "gate", "--registry", str(live.root), "supp")[:1] == ["support-triage@2026.11.01-1"]


@pytest.mark.parametrize(
    "shell,marker", [("bash", "_bundlectl_completion()"), ("zsh", "#compdef bundlectl"), ("fish", "complete --no-files --command bundlectl")]
)
def test_each_shell_gets_its_script(workspace: Workspace, shell: str, marker: str):
    result = workspace.run("completion", shell)
    assert result.exit_code == 0 and marker in result.stdout and "_BUNDLECTL_COMPLETE" in result.stdout


def test_an_unknown_shell_is_a_usage_error(workspace: Workspace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SHELL", "/bin/tcsh")
    result = workspace.run("completion")
    assert result.exit_code == 2 and "name the shell: bundlectl completion bash|zsh|fish (SHELL is 'tcsh')" in result.stderr
    monkeypatch.setenv("SHELL", "/usr/bin/zsh")
    assert "#compdef bundlectl" in workspace.run("completion").stdout
