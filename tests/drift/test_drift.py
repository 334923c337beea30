"""`bundlectl drift`: the live bundle's harness re-run and compared case by case with the run that admitted it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import V2, Workspace
from tests.drift.conftest import NAME, make_live
from tests.helpers import add, promote, promptfoo_report, set_policy


def drift(ws: Workspace, *args: str) -> tuple[int, dict]:
    result = ws.run("drift", NAME, "--env", "staging", "--report", "report.json", "--json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_an_identical_rerun_is_stable_and_stores_nothing(live: Workspace):
    head = live.log_head()
    code, found = drift(live)
    assert (code, found["decision"], found["flipped"], found["applied"]) == (0, "stable", [], False)
    assert found["overall"] == {"slice": "overall", "cases": 54, "broke": 0, "fixed": 0, "p_value": 1.0}
    assert found["run"] is None and live.log_head() == head  # without --apply nothing is written
    text = live.run("drift", NAME, "--env", "staging", "--report", "report.json")
    assert text.exit_code == 0 and "stable at alpha 0.01" in text.stdout and "0 broke, 0 fixed" in text.stdout


def test_a_provider_that_changed_behind_the_same_bundle_is_drift_with_the_flipped_cases_named(live: Workspace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFT_FLIP", "12")
    head = live.log_head()
    code, found = drift(live)
    assert code == 1 and found["decision"] == "drift" and live.log_head() == head
    cases = json.loads(__import__("os").environ["CASES"])
    assert [f["case"] for f in found["flipped"]] == sorted(c for c, _ in cases[3:15])
    assert {f["direction"] for f in found["flipped"]} == {"broke"}
    assert found["overall"]["broke"] == 12 and found["overall"]["p_value"] == pytest.approx(2 / 4096)
    assert any(r.startswith("cases: 12 broke and 0 were fixed of 54") for r in found["reasons"])
    text = live.run("drift", NAME, "--env", "staging", "--report", "report.json")
    assert text.exit_code == 1 and f"broke: {cases[3][0]}" in text.stdout and "drift: cases: 12 broke" in text.stderr


def test_apply_stores_the_run_and_the_finding_and_status_check_fails_until_a_stable_run(live: Workspace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFT_FLIP", "12")
    code, found = drift(live, "--apply")
    assert code == 1 and found["applied"] and found["action"] == "notify" and found["action_seq"] is None
    listed = live.json("evidence", "list", "support-triage@2026.11.01-7")["evidence"]
    assert listed[0]["figures"]["passed"] == 39 and found["run"] > found["baseline"]
    status = live.run("status", "--check")
    assert status.exit_code == 1 and f"drift run {found['seq']}" in status.stderr and "found drift" in status.stderr
    monkeypatch.delenv("DRIFT_FLIP")
    code, again = drift(live, "--apply")
    assert code == 0 and again["decision"] == "stable" and again["action"] == "none"
    assert live.run("status", "--check").exit_code == 0
    events = live.json("history", NAME, "--env", "staging")["events"]
    assert [(e["action"], e.get("decision")) for e in events[:2]] == [("drift", "stable"), ("drift", "drift")]
    assert live.run("verify").exit_code == 0


@pytest.mark.parametrize("action", ["pause", "rollback"])
def test_the_policys_action_follows_as_its_own_logged_event(git_registry: Workspace, cases: None, action: str, monkeypatch: pytest.MonkeyPatch):
    if action == "rollback":  # something to roll back to: v2 was live before
        assert git_registry.run("register", "bundles/support-triage-v2").exit_code == 0
        set_policy(git_registry, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
        add(git_registry, V2, promptfoo_report(git_registry, "v2"))
        promote(git_registry, V2, "staging")
    make_live(git_registry, action, provenance="any")
    monkeypatch.setenv("DRIFT_FLIP", "20")
    code, found = drift(git_registry, "--apply")
    assert code == 1 and found["action"] == action and found["action_seq"] == found["seq"] + 1
    events = git_registry.json("history", NAME, "--env", "staging")["events"]
    assert events[0]["action"] == action and f"drift found by drift run {found['seq']}" in events[0]["reason"]
    assert (events[1]["action"], events[1]["action_taken"], events[1]["decision"]) == ("drift", action, "drift")
    assert git_registry.run("verify").exit_code == 0


def test_drift_of_nothing_live_is_refused_with_nothing_written(live: Workspace):
    head = live.log_head()
    result = live.run("drift", NAME, "--env", "production")
    assert result.exit_code != 0 and "production" in result.stderr and "Traceback" not in result.output
    assert live.log_head() == head
