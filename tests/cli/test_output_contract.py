"""What a script or a person reads: JSON that keeps its types, one JSON document even for errors,
colour that respects NO_COLOR, exit codes in --help, and errors in words a user can act on."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundlectl.cli.main import cli
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy


def one_document(text: str) -> dict:
    """stdout holds exactly one JSON document (json.loads refuses trailing data)."""
    document = json.loads(text)
    assert isinstance(document, dict)
    return document


def test_gate_json_gives_ages_in_seconds_and_the_evidence_it_used(registered: Workspace):
    staged = registered
    set_policy(staged, "environments:\n  staging: {gates: {eval: {min_cases: 1, min_pass_rate: 0.5, max_age: 2d}, rehearsal: {max_age: 30d}}}\n")
    add(staged, V2, promptfoo_report(staged, "v2", timedelta(hours=17)))
    result = staged.run("gate", V2, "--env", "staging", "--json")
    document = one_document(result.stdout)
    checks = {c["name"]: c for c in document["checks"]}
    fresh = checks["eval.fresh"]
    assert fresh["unit"] == "seconds" and 17 * 3600 <= fresh["value"] < 17 * 3600 + 600 and fresh["threshold"] == 2 * 86400
    assert checks["rehearsal"]["threshold"] == 30 * 86400 and checks["rehearsal"]["value"] is None
    [used] = document["evidence"]
    assert used["kind"] == "eval" and used["version"] == "2026.11.22-1" and used["digest"] == document["digest"]
    assert used["provenance"] == "attached" and used["source"] == "promptfoo" and isinstance(used["seq"], int)
    human = staged.run("gate", V2, "--env", "staging")
    assert "17h" in human.stdout and "30d" in human.stdout  # people still read durations


def test_status_and_history_json_booleans_are_booleans(staged: Workspace):
    promote(staged, V1, "staging")
    promote(staged, V2, "staging")
    result = staged.run(
        "rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--break-glass", "--reason", "abstention too aggressive"
    )
    assert result.exit_code == 0, result.output
    [row] = staged.json("status")["environments"]
    assert row["verified"] is False and row["evidence_fresh"] is False
    events = staged.json("history", "support-triage", "--env", "staging")["events"]
    assert [e["verified"] for e in events] == [False, True, True]


def test_errors_in_json_mode_are_one_document_on_stdout_with_the_exit_code_unchanged(staged: Workspace):
    missing = staged.run("show", "nope@1", "--json")
    assert missing.exit_code == 4
    assert one_document(missing.stdout)["error"] == {
        "exit_code": 4,
        "kind": "not_found",
        "message": "nope@1 is not registered",
        "hint": "nothing named nope is registered",
    }
    assert "error: nope@1 is not registered" in missing.stderr  # people reading a CI log still see it
    usage = staged.run("gate", V1, "--json")
    assert usage.exit_code == 2
    assert one_document(usage.stdout)["error"]["message"] == "Missing option '--env'."
    assert one_document(usage.stdout)["error"]["hint"] == "see `bundlectl gate --help`"


def test_a_refused_promotion_in_json_mode_carries_its_gate_in_the_one_error_document(staged: Workspace):
    set_policy(staged, "environments:\n  staging: {gates: {eval: {min_cases: 1, min_pass_rate: 0.99}}}\n")
    head = staged.log_head()
    result = staged.run("promote", V1, "--env", "staging", "--json")
    assert result.exit_code == 1 and staged.log_head() == head
    document = one_document(result.stdout)
    assert document["error"]["kind"] == "refused" and "failed eval.pass_rate" in document["error"]["message"]
    assert document["gate"]["passed"] is False
    assert [c["name"] for c in document["gate"]["checks"] if not c["passed"]] == ["eval.pass_rate"]


def test_invalid_input_in_json_mode_lists_each_problem(registry: Workspace):
    folder = registry.root / "bundles" / "support-triage-v1"
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("snapshot: gpt-4o-2024-08-06", "snapshot: gpt-4o"))
    refs = registry.bundlectl_refs()
    result = registry.run("register", str(folder), "--json")
    assert result.exit_code == 1 and registry.bundlectl_refs() == refs
    [problem] = one_document(result.stdout)["error"]["problems"]
    assert problem["line"] == 14 and problem["field"] == "components.model.snapshot" and "floating alias" in problem["message"]


def test_a_bug_in_json_mode_is_still_one_document(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    from bundlectl import api

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "status_report", broken)
    result = git_registered.run("status", "--json")
    assert result.exit_code == 70
    document = one_document(result.stdout)
    assert document["error"]["kind"] == "bug"
    assert "RuntimeError: boom" in Path(document["crash_report"]).read_text()


def test_words_after_double_dash_belong_to_the_command_not_to_bundlectl():
    from bundlectl.cli.output import requested_format

    assert requested_format(["eval", "x@1", "--", "tool", "--json"]) == "text"
    assert requested_format(["validate", "--format", "github", "b"]) == "github"
    assert requested_format(["gate", "--format=json"]) == "json"


def test_no_color_is_respected_on_a_terminal(staged: Workspace, monkeypatch: pytest.MonkeyPatch):
    def gate_output() -> str:
        # color=True is CliRunner's terminal: styles are kept unless bundlectl turns them off
        return CliRunner().invoke(cli, ["gate", V2, "--env", "staging"], color=True, catch_exceptions=False).output

    assert "\x1b[" in gate_output()
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in gate_output() and "PASS" in gate_output()


@pytest.mark.parametrize("command", [[], ["gate"], ["evidence", "add"], ["rollback"]])
def test_help_lists_the_exit_codes(command: list[str]):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    for line in ("3   conflict: someone else moved the pointer first", "4   not found", "5   integrity failure", "70  a bug"):
        assert line in result.output


def test_audit_at_a_time_that_is_not_one_says_how_to_write_it(staged: Workspace):
    promote(staged, V1, "staging")
    result = staged.run("audit", "support-triage", "--at", "yesterday", "--env", "staging")
    assert result.exit_code == 2
    assert "'yesterday' is not an RFC 3339 time; write e.g. 2026-11-22T14:05:00Z, or a date: 2026-11-22" in result.stderr
    assert "isoformat" not in result.output


def test_tables_line_up_with_wide_characters(staged: Workspace):
    import unicodedata

    promote(staged, V1, "staging")
    assert staged.run("promote", V2, "--env", "staging", "--actor", "张伟@example.com", "--reason", "新版本").exit_code == 0
    lines = staged.run("history", "support-triage", "--env", "staging").stdout.splitlines()

    def column_of(line: str, text: str) -> int:  # terminal columns before `text`: wide characters take two
        before = line[: line.index(text)]
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)

    header, newest, oldest = lines[0], lines[1], lines[2]
    assert column_of(newest, "新版本") == column_of(header, "REASON")  # the reason starts under its header
    assert column_of(oldest, "tester@example.com") == column_of(newest, "张伟@example.com") == column_of(header, "BY")


def test_the_cache_folder_is_the_platforms(monkeypatch: pytest.MonkeyPatch, tmp_path):
    import platformdirs
    import platformdirs.macos

    from bundlectl.digest.filehash import cache_dir

    monkeypatch.delenv("BUNDLECTL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == platformdirs.user_cache_path("bundlectl", appauthor=False)
    monkeypatch.setattr(platformdirs, "PlatformDirs", platformdirs.macos.MacOS)  # as on a Mac
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "Library" / "Caches" / "bundlectl"
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
