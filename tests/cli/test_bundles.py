"""new, register, list, show and export: bundles in and out of the registry, and the refs that name them."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import V1, Workspace


def test_new_scaffolds_a_bundle_that_validates_and_registers(registry: Workspace):
    result = registry.run("new", "faq-bot")
    assert result.exit_code == 0, result.output
    shown = registry.json("show", "bundles/faq-bot")
    assert shown["name"] == "faq-bot"
    assert all(not c["absent"] for c in shown["components"].values())
    assert registry.run("register", "bundles/faq-bot").exit_code == 0


def test_new_refuses_an_existing_folder(registry: Workspace):
    assert registry.run("new", "faq-bot").exit_code == 0
    marker = registry.root / "bundles/faq-bot/runbook.md"
    marker.write_text("mine")
    result = registry.run("new", "faq-bot")
    assert result.exit_code == 1 and "already exists; nothing was written" in result.stderr
    assert marker.read_text() == "mine"


def test_new_refuses_a_bad_name(registry: Workspace):
    result = registry.run("new", "Bad_Name")
    assert result.exit_code == 2 and "is not valid" in result.stderr
    assert not (registry.root / "bundles/Bad_Name").exists()


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


def test_concurrent_registrations_all_land_on_one_chain(registry: Workspace, tmp_path: Path):
    import shutil

    folders = []
    for i in range(6):
        folder = registry.root / "bundles" / f"copy-{i}"
        shutil.copytree(registry.root / "bundles/support-triage-v1", folder)
        text = (folder / "bundle.yaml").read_text().replace("version: 2026.11.01-1", f"version: 0.0.{i}")
        (folder / "bundle.yaml").write_text(text)
        folders.append(folder)
    procs = [
        subprocess.Popen([sys.executable, "-m", "bundlectl", "register", str(f)], cwd=registry.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for f in folders
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    versions = {b["version"] for b in registry.json("list")["bundles"]}
    assert versions == {f"0.0.{i}" for i in range(6)}
    storage = registry.storage()
    payloads = [json.loads(e.payload) for e in storage.events_after(None, storage.log_head())]
    assert sorted(p["seq"] for p in payloads) == list(range(1, len(payloads) + 1))
    assert [p["action"] for p in payloads].count("register") == 6


def test_export_round_trips_to_the_same_digest(registered: Workspace):
    result = registered.run("export", V1, "out/v1")
    assert result.exit_code == 0, result.output
    assert registered.json("show", "out/v1")["digest"] == registered.json("show", V1)["digest"]
    original = registered.root / "bundles/support-triage-v1/prompts/system.md"
    assert (registered.root / "out/v1/prompts/system.md").read_bytes() == original.read_bytes()


def test_export_refuses_a_non_empty_folder(registered: Workspace):
    target = registered.root / "taken"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    result = registered.run("export", V1, str(target))
    assert result.exit_code == 1 and "already exists and is not empty; nothing was written" in result.stderr
    assert sorted(p.name for p in target.iterdir()) == ["mine.txt"]


def test_export_refuses_a_symbolic_link_or_an_unwritable_place_in_one_line(registered: Workspace, tmp_path: Path):
    empty, outside = tmp_path / "empty", tmp_path / "outside"
    empty.mkdir()
    (registered.root / "to-empty").symlink_to(empty)
    (registered.root / "dangling").symlink_to(outside)
    expected = {
        "to-empty": "to-empty is a symbolic link; nothing was written",
        "dangling": "dangling is a symbolic link; nothing was written",
        "/proc/self/bundle": "cannot export into /proc/self/bundle",
    }
    for target, message in expected.items():
        result = registered.run("export", V1, target)
        assert result.exit_code == 1, (target, result.output)
        assert message in result.stderr and "internal error" not in result.stderr, result.stderr
    assert list(empty.iterdir()) == [] and not outside.exists()
    assert not list(registered.root.glob(".bundlectl-export-*"))
