"""`init` and `registry copy`, and what every command needs of the registry: that it exists, where it is, and its index."""

from pathlib import Path

import git

from tests.conftest import Workspace


def test_commands_need_an_initialised_registry(workspace: Workspace):
    result = workspace.run("list")
    assert result.exit_code == 4
    assert "no bundlectl registry" in result.stderr and "bundlectl init" in result.stderr


def test_no_git_repository_around(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from tests.conftest import Workspace as W

    result = W(tmp_path, None).run("init")
    assert result.exit_code == 4 and "no git repository around" in result.stderr


def test_init_is_idempotent_and_leaves_the_working_tree_alone(workspace: Workspace):
    assert "initialised bundlectl registry" in workspace.run("init").output
    head = workspace.log_head()
    assert "already initialised" in workspace.run("init").output
    assert workspace.log_head() == head
    assert workspace.repo.git.status("--porcelain") == "?? bundles/"


def test_dedicated_registry(workspace: Workspace, tmp_path: Path, monkeypatch):
    target = tmp_path / "registry.git"
    assert workspace.run("init", "--registry", str(target)).exit_code == 0
    assert (target / "HEAD").exists()
    assert workspace.run("register", "bundles/support-triage-v1", "--registry", str(target)).exit_code == 0
    monkeypatch.setenv("BUNDLECTL_REGISTRY", str(target))
    assert len(workspace.json("list")["bundles"]) == 1
    assert workspace.repo.git.for_each_ref("refs/bundlectl/") == ""  # the project repository was not touched


def test_index_is_rebuilt_from_the_log_when_deleted(registered: Workspace):
    before = registered.json("list")
    index = registered.storage().index_path()
    assert index.exists()
    for suffix in ("", "-wal", "-shm"):
        Path(str(index) + suffix).unlink(missing_ok=True)
    assert registered.json("list") == before


def test_the_registry_travels_with_git_fetch(git_registered: Workspace, tmp_path: Path):
    other = git.Repo.clone_from(git_registered.root, tmp_path / "other")
    other.git.fetch("origin", "refs/bundlectl/*:refs/bundlectl/*")
    assert other.git.rev_parse("refs/bundlectl/log") == git_registered.log_head()


def test_copy_to_a_new_git_registry_keeps_everything(git_registered: Workspace, tmp_path: Path):
    target = tmp_path / "copy.git"
    result = git_registered.run("registry", "copy", "--migrate", str(git_registered.root), str(target))
    assert result.exit_code == 0, result.output
    assert f"run `bundlectl verify --registry {target}` to check the copy" in result.output
    assert "is retired: it takes no more writes" in result.output
    assert git_registered.run("verify", "--registry", str(target)).exit_code == 0
    assert git_registered.json("list", "--registry", str(target)) == git_registered.json("list")
    again = git_registered.run("registry", "copy", "--migrate", str(git_registered.root), str(target))
    assert again.exit_code == 0 and "copied 0 events and 0 objects" in again.output and "were already there" in again.output
