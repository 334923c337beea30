import json
import subprocess
import sys
from pathlib import Path

import git

from tests.conftest import V1, V2, Workspace


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


def test_register_list_show(registered: Workspace):
    listing = registered.json("list")["bundles"]
    assert [(b["name"], b["version"]) for b in listing] == [("support-triage", "2026.11.01-1"), ("support-triage", "2026.11.22-1")]
    shown = registered.json("show", V1)
    assert set(shown) >= {"name", "version", "digest", "components"}
    assert list(shown["components"]) == ["model", "prompt", "schema", "retriever", "tools", "guardrails", "evals", "runbook"]
    from_folder = registered.json("show", "bundles/support-triage-v1")
    assert from_folder["digest"] == shown["digest"]
    assert {k: c["digest"] for k, c in from_folder["components"].items()} == {k: c["digest"] for k, c in shown["components"].items()}


def test_register_same_content_again_is_a_noop(registered: Workspace):
    head = registered.log_head()
    result = registered.run("register", "bundles/support-triage-v1")
    assert result.exit_code == 0 and "already registered with this content" in result.output
    assert registered.log_head() == head


def test_same_version_with_different_content_is_refused_and_nothing_written(registered: Workspace):
    runbook = registered.root / "bundles/support-triage-v1/runbook.md"
    runbook.write_text(runbook.read_text() + "\nOne more line.\n")
    head, refs = registered.log_head(), registered.bundlectl_refs()
    result = registered.run("register", "bundles/support-triage-v1")
    assert result.exit_code == 1
    assert f"{V1} is already registered with different content" in result.stderr
    assert "bump metadata.version" in result.stderr
    assert registered.log_head() == head and registered.bundlectl_refs() == refs


def test_dry_run_writes_nothing(registry: Workspace):
    head, refs = registry.log_head(), registry.bundlectl_refs()
    result = registry.run("register", "bundles/support-triage-v1", "--dry-run")
    assert result.exit_code == 0 and "would register" in result.output
    assert registry.log_head() == head and registry.bundlectl_refs() == refs


def test_registered_content_survives_the_folder(registered: Workspace):
    import shutil

    shutil.rmtree(registered.root / "bundles")
    diff = registered.json("diff", V1, V2, "--component", "prompt")
    assert "escalate_to_human" in diff["components"]["prompt"]["text_diffs"]["prompts/system.md"]


def test_digest_prefix_refs(registered: Workspace):
    digest = registered.json("show", V1)["digest"]
    assert registered.json("show", "support-triage@" + digest[:19])["version"] == "2026.11.01-1"
    short = registered.run("show", "support-triage@sha256:abc")
    assert short.exit_code == 1 and "too short" in short.stderr
    missing = registered.run("show", "support-triage@sha256:" + "0" * 12)
    assert missing.exit_code == 4


def test_unknown_version_is_not_found_with_the_known_ones(registered: Workspace):
    result = registered.run("show", "support-triage@1.0")
    assert result.exit_code == 4
    assert "support-triage@1.0 is not registered" in result.stderr and "2026.11.22-1" in result.stderr


def test_git_revision_refs(workspace: Workspace):
    workspace.repo.index.add(["bundles"])
    workspace.repo.index.commit("examples")
    runbook = workspace.root / "bundles/support-triage-v1/runbook.md"
    runbook.write_text("# rewritten\n")
    diff = workspace.json("diff", "git:HEAD:bundles/support-triage-v1", "bundles/support-triage-v1")
    assert diff["changed"] == ["runbook"]
    assert diff["a"]["ref"] == "git:HEAD:bundles/support-triage-v1"
    assert workspace.run("show", "git:nope:bundles/x").exit_code == 4
    assert workspace.run("show", "git:HEAD").exit_code == 2


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


def test_dedicated_registry(workspace: Workspace, tmp_path: Path, monkeypatch):
    target = tmp_path / "registry.git"
    assert workspace.run("init", "--registry", str(target)).exit_code == 0
    assert (target / "HEAD").exists()
    assert workspace.run("register", "bundles/support-triage-v1", "--registry", str(target)).exit_code == 0
    monkeypatch.setenv("BUNDLECTL_REGISTRY", str(target))
    assert len(workspace.json("list")["bundles"]) == 1
    assert workspace.repo.git.for_each_ref("refs/bundlectl/") == ""  # the project repository was not touched


def test_concurrent_registrations_all_land_on_one_chain(registry: Workspace, tmp_path: Path):
    import shutil

    folders = []
    for i in range(6):
        folder = registry.root / "bundles" / f"copy-{i}"
        shutil.copytree(registry.root / "bundles/support-triage-v1", folder)
        text = (folder / "bundle.yaml").read_text().replace("version: 2026.11.01-1", f"version: 0.0.{i}")
        (folder / "bundle.yaml").write_text(text)
        folders.append(folder)
    procs = [subprocess.Popen([sys.executable, "-m", "bundlectl", "register", str(f)], cwd=registry.root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in folders]
    outcomes = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    versions = {b["version"] for b in registry.json("list")["bundles"]}
    assert versions == {f"0.0.{i}" for i in range(6)}
    storage = registry.storage()
    payloads = [json.loads(e.payload) for e in storage.events_after(None, storage.log_head())]
    assert sorted(p["seq"] for p in payloads) == list(range(1, len(payloads) + 1))
    assert [p["action"] for p in payloads].count("register") == 6
