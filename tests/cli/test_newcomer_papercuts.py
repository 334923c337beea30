"""What a newcomer trips over first: each message says what is true and what to do, with the right exit code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy

STAGING = (
    "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}, regression: {max_drop: 0.5}}}\n"
    "  production:\n    after: staging\n    gates: {approvals: {min: 1}}\n"
)


@pytest.fixture
def staged(git_registered: Workspace) -> Workspace:
    set_policy(git_registered, STAGING)
    add(git_registered, V1, promptfoo_report(git_registered, "v1"))
    add(git_registered, V2, promptfoo_report(git_registered, "v2"))
    return git_registered


def test_bare_bundlectl_prints_the_workflow_and_succeeds(workspace: Workspace):
    result = workspace.run()
    assert result.exit_code == 0
    headings = [line for line in result.output.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert headings[:3] == ["Options:", "Start:", "Bundles:"]
    summaries = [line for line in result.output.splitlines() if not line.startswith("Usage:")]
    assert not any(line.rstrip().endswith(("...", "…")) for line in summaries)  # no summary cut short


def test_a_mistyped_command_or_environment_is_answered_with_what_was_meant(staged: Workspace):
    result = staged.run("promot", V1)
    assert result.exit_code == 2 and "no such command 'promot'; did you mean 'promote'?" in result.output
    head = staged.log_head()
    typo = staged.run("promote", V1, "--env", "stagin")
    assert typo.exit_code == 1 and "did you mean 'staging'?" in typo.stderr
    history = staged.run("history", "support-triage", "--env", "prodution")
    assert history.exit_code == 4 and "there is no environment 'prodution'; did you mean 'production'?" in history.stderr
    assert staged.run("history", "support-triage", "--env", "production").exit_code == 0  # defined, never live: fine
    assert staged.log_head() == head


def test_name_at_env_with_nothing_live_says_so(staged: Workspace):
    result = staged.run("show", "support-triage@staging")
    assert result.exit_code == 4
    assert "nothing of support-triage has been live in staging" in result.stderr and "is not registered" not in result.stderr


def test_validating_a_missing_folder_is_not_found_and_json_has_the_error_document(workspace: Workspace):
    result = workspace.run("validate", "bundles/nonexistent")
    assert result.exit_code == 4 and "bundles/nonexistent: not found" in result.stderr
    as_json = workspace.run("validate", "bundles/nonexistent", "--json")
    document = json.loads(as_json.stdout)
    assert as_json.exit_code == 4 and document["error"]["kind"] == "not_found" and document["valid"] is False
    assert document["error"]["problems"][0]["file"] == "bundles/nonexistent"


def test_validate_warns_about_prompt_files_no_eval_renders(workspace: Workspace):
    folder = workspace.root / "bundles/support-triage-no-system"  # the example as it was: its suite rendered user.j2 only
    shutil.copytree(workspace.root / "bundles/support-triage-v2", folder)
    suite = folder / "evals/promptfooconfig.yaml"
    suite.write_text("".join(line for line in suite.read_text().splitlines(keepends=True) if "file://../prompts/system.md" not in line))
    assert "renders it" not in workspace.run("validate", "bundles/support-triage-v2").stderr
    result = workspace.run("validate", str(folder))
    assert result.exit_code == 0
    assert (
        "prompts/system.md: no prompt of the eval suite renders it, so no report can count as evidence for it; "
        "add `file://../prompts/system.md` to the suite's prompts"
    ) in result.stderr
    assert workspace.run("new", "faq-bot").exit_code == 0
    assert "renders it" not in workspace.run("validate", "bundles/faq-bot").stderr


def test_steps_out_of_order_are_refused_not_reordered(staged: Workspace):
    promote(staged, V1, "staging")
    head = staged.log_head()
    result = staged.run("promote", V2, "--env", "staging", "--canary", "10", "--steps", "10,5,100")
    assert result.exit_code == 2 and "--steps 10,5,100: the steps must rise" in result.stderr
    assert staged.log_head() == head


def test_a_self_approval_that_never_counts_is_flagged(staged: Workspace):
    result = staged.run("approve", V1, "--env", "production")  # tester@example.com registered it
    assert result.exit_code == 0
    assert "registered support-triage@2026.11.01-1" in result.stderr and "will never count" in result.stderr
    other = staged.run("approve", V1, "--env", "production", "--actor", "lead@example.com")
    assert "never count" not in other.output


def test_gate_tables_say_yes_and_no(staged: Workspace):
    promote(staged, V1, "staging")
    shown = staged.run("gate", V1, "--env", "production")
    assert "True" not in shown.stdout and "False" not in shown.stdout and "yes" in shown.stdout


def test_audit_names_whose_evidence_each_row_is(staged: Workspace):
    promote(staged, V1, "staging")
    promote(staged, V2, "staging")
    rows = staged.json("audit", "support-triage", "--env", "staging", "--at", "2100-01-01T00:00:00Z")["evidence"]
    roles = {(r["version"], r["role"]) for r in rows}
    assert ("2026.11.22-1", "this bundle") in roles and ("2026.11.01-1", "baseline") in roles
    shown = staged.run("audit", "support-triage", "--env", "staging", "--at", "2100-01-01T00:00:00Z")
    assert "baseline" in shown.stdout and "2026.11.01-1" in shown.stdout


def test_rollback_to_a_bundle_never_live_there_says_where(staged: Workspace):
    promote(staged, V1, "staging")
    staged.run("register", "bundles/support-triage-v2")
    result = staged.run("rollback", "support-triage", "--env", "staging", "--to", V2)
    assert "rollback only goes back to bundles that were live there before" in result.stderr


def test_file_format_messages_say_what_is_expected_not_the_regex(workspace: Workspace):
    manifest = workspace.root / "bundles/support-triage-v1/bundle.yaml"
    manifest.write_text(manifest.read_text().replace("name: support-triage", "name: Support_Triage"))
    result = workspace.run("validate", "bundles/support-triage-v1")
    assert result.exit_code == 1
    assert "'Support_Triage' is not valid here: use lowercase letters, digits and dashes" in result.stderr
    assert "should match pattern" not in result.stderr and "schemas/" not in result.stderr


def test_no_identity_is_named_as_a_login_never_a_bare_user(tmp_path: Path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": str(tmp_path / "none"), "GIT_CONFIG_NOSYSTEM": "1"}
    code = "from bundlectl.trust.identity import acting_identity; print(acting_identity(None))"
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path, check=True)
    assert found.stdout.startswith("login:")


def test_promptfoo_not_on_path_points_at_the_cached_install(git_registry: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BUNDLECTL_PROMPTFOO_DIR", str(tmp_path / "pf"))
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + ":/usr/bin:/bin")
    assert git_registry.run("new", "faq-bot").exit_code == 0 and git_registry.run("register", "bundles/faq-bot").exit_code == 0
    cached = tmp_path / "pf/node_modules/.bin/promptfoo"
    cached.parent.mkdir(parents=True)
    cached.write_text("#!/bin/sh\n")
    unfinished = git_registry.run("eval", "faq-bot@0.1.0")  # an install that stopped half-way is not offered
    assert unfinished.exit_code == 2 and "npm install -g promptfoo@0.115.0" in unfinished.stderr
    native = tmp_path / "pf/node_modules/better-sqlite3/build/Release/better_sqlite3.node"  # what a finished install leaves
    native.parent.mkdir(parents=True)
    native.write_bytes(b"")
    result = git_registry.run("eval", "faq-bot@0.1.0")
    assert result.exit_code == 2 and f'a cached install is at {cached}: export PATH="{cached.parent}:$PATH"' in result.stderr


def test_doctor_names_each_check_and_the_fix(git_registry: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("BUNDLECTL_PROMPTFOO_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + ":/usr/bin:/bin")
    report = git_registry.json("doctor")
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) >= {"git", "identity", "registry", "trust", "clock", "promptfoo", "cache"}
    assert checks["registry"]["status"] == "ok" and checks["identity"]["detail"].startswith("tester@example.com")
    assert checks["trust"]["status"] == "warn" and "promptfoo@0.115.0" in checks["promptfoo"]["hint"]
    assert report["healthy"] is True
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    subprocess.run(["git", "init", "-q"], cwd=elsewhere, check=True)
    assert {c["name"]: c for c in git_registry.json("doctor")["checks"]}["registry"]["hint"] == "create one with `bundlectl init`"


def test_a_canary_rollback_row_names_the_two_arms_not_a_move(staged: Workspace):
    promote(staged, V1, "staging")
    assert staged.run("promote", V2, "--env", "staging", "--canary", "10").exit_code == 0
    assert staged.run("rollback", "support-triage", "--env", "staging").exit_code == 0  # ends the canary
    row = next(line for line in staged.run("history", "support-triage", "--env", "staging").output.splitlines() if "canary-rollback" in line)
    assert "live 2026.11.01-1" in row and "candidate 2026.11.22-1" in row and "ended: live unchanged" in row
