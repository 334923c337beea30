"""Shared fixtures: a real git repository in tmp_path holding the example bundles, and a CLI runner."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import pytest
from click.testing import CliRunner, Result

from bundlectl.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "bundles"
V1, V2 = "support-triage@2026.11.01-1", "support-triage@2026.11.22-1"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BUNDLECTL_ACTOR", "tester@example.com")
    monkeypatch.delenv("BUNDLECTL_REGISTRY", raising=False)
    monkeypatch.delenv("BUNDLECTL_DEBUG", raising=False)
    for variable in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(variable, "bundlectl tests")
    for variable in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(variable, "tests@example.com")


@dataclass
class Workspace:
    root: Path
    repo: Any

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def log_head(self) -> str | None:
        try:
            return self.repo.git.rev_parse("refs/bundlectl/log")
        except git.GitCommandError:
            return None

    def bundlectl_refs(self) -> str:
        return self.repo.git.for_each_ref("refs/bundlectl/")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A git repository with the example bundles copied in, as the current folder."""
    root = tmp_path / "project"
    repo = git.Repo.init(root)
    shutil.copytree(EXAMPLES, root / "bundles")
    monkeypatch.chdir(root)
    return Workspace(root, repo)


@pytest.fixture
def registry(workspace: Workspace) -> Workspace:
    """The workspace with an initialised registry."""
    result = workspace.run("init")
    assert result.exit_code == 0, result.output
    return workspace


@pytest.fixture
def registered(registry: Workspace) -> Workspace:
    for folder in ("bundles/support-triage-v1", "bundles/support-triage-v2"):
        result = registry.run("register", folder)
        assert result.exit_code == 0, result.output
    return registry
