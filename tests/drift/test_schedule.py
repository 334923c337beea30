"""`status --check` holds the live bundle to its drift and review schedules: a missed run is itself detected."""

from __future__ import annotations

from datetime import timedelta

from bundlectl import api
from bundlectl.foundation.clock import now_utc, parse_time
from tests.conftest import Workspace
from tests.drift.conftest import NAME


def problems(after: timedelta) -> list[str]:
    row = api.status_report(NAME, now=now_utc() + after).environments[0]
    assert row.healthy == (not row.problems)
    return row.problems


def test_a_missed_drift_run_fails_the_check(live: Workspace):
    assert problems(timedelta(days=6)) == []
    missed = problems(timedelta(days=8))
    assert len(missed) == 1 and missed[0].startswith("drift: missed schedule: no drift run since it went live at")
    assert "wants one every 7d" in missed[0]
    result = live.run("drift", NAME, "--env", "staging", "--report", "report.json", "--apply")
    assert result.exit_code == 0, result.output
    assert problems(timedelta(days=6)) == []  # the schedule counts from the last run now
    seq = live.json("history", NAME, "--env", "staging")["events"][0]["seq"]
    assert "the last drift run was at" in problems(timedelta(days=8))[0] and f"(seq {seq})" in problems(timedelta(days=8))[0]


def test_an_overdue_review_fails_the_check(live: Workspace):
    assert live.run("drift", NAME, "--env", "staging", "--report", "report.json", "--apply").exit_code == 0
    due = [p for p in problems(timedelta(days=31)) if p.startswith("review:")]
    assert len(due) == 1 and "overdue: no review since it went live" in due[0] and "every 30d" in due[0]
    result = live.run("review", NAME, "--env", "staging", "--value", "0.95", "--note", "checked the dashboard")
    assert result.exit_code == 0 and "within tolerance" in result.stdout
    reviewed = live.json("history", NAME, "--env", "staging")["events"][0]
    assert reviewed["action"] == "review" and reviewed["reason"] == "checked the dashboard"
    assert not [p for p in problems(timedelta(days=29)) if p.startswith("review:")]
    late = [p for p in problems(timedelta(days=31)) if p.startswith("review:")]
    assert late and f"the last review was at {reviewed['time']}" in late[0]
    assert parse_time(reviewed["time"]) <= now_utc() + timedelta(seconds=1)


def test_status_check_fails_on_the_command_line_while_drift_stands(live: Workspace, monkeypatch):
    assert live.run("status", "--check").exit_code == 0
    monkeypatch.setenv("DRIFT_FLIP", "14")
    assert live.run("drift", NAME, "--env", "staging", "--report", "report.json", "--apply").exit_code == 1
    result = live.run("status", "--check")
    assert result.exit_code == 1 and "found drift (action: notify)" in result.stderr


def test_without_a_drift_or_review_policy_nothing_is_scheduled(git_registry: Workspace, cases: None):
    from tests.drift.conftest import register_stand_in
    from tests.helpers import promote, set_policy

    register_stand_in(git_registry)
    set_policy(git_registry, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 60d}}}\n")
    assert git_registry.run("eval", "support-triage@2026.11.01-7", "--report", "report.json").exit_code == 0
    promote(git_registry, "support-triage@2026.11.01-7", "staging")
    assert problems(timedelta(days=45)) == []


def test_audit_at_shows_the_last_drift_run_and_review_of_that_moment(live: Workspace, monkeypatch):
    monkeypatch.setenv("DRIFT_FLIP", "14")
    assert live.run("drift", NAME, "--env", "staging", "--report", "report.json", "--apply").exit_code == 1
    assert live.run("review", NAME, "--env", "staging", "--value", "0.80").exit_code == 0
    at = live.json("history", NAME, "--env", "staging")["events"][0]["time"]
    audited = live.json("audit", "--at", at, "--env", "staging", NAME)
    assert audited["last_drift_run"]["decision"] == "drift" and audited["last_drift_run"]["action_taken"] == "notify"
    assert (audited["last_review"]["value"], audited["last_review"]["in_tolerance"]) == (0.8, False)
    text = live.run("audit", "--at", at, "--env", "staging", NAME).stdout
    assert "last drift run: drift at" in text and "last review: correct_route_rate = 0.8 (outside tolerance)" in text
    before = live.json("audit", "--at", live.json("history", NAME, "--env", "staging")["events"][-1]["time"], "--env", "staging", NAME)
    assert before["last_drift_run"] is None and before["last_review"] is None


def test_a_review_can_read_its_value_from_the_live_outcomes(live: Workspace):
    import json

    digest = live.json("status")["environments"][0]["digest"]
    stamp = {"bundle.name": NAME, "bundle.env": "staging", "bundle.digest": digest, "bundle.arm": "live"}
    lines = [{**stamp, "request_id": f"r{n}", "outcome": {"correct_route_rate": n % 10 != 0}} for n in range(100)]
    lines.append({**stamp, "bundle.digest": "sha256:" + "1" * 64, "request_id": "other", "outcome": {"correct_route_rate": 0}})
    (live.root / "requests.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    reviewed = live.json("review", NAME, "--env", "staging", "--from-guard", "requests.jsonl")
    assert (reviewed["value"], reviewed["in_tolerance"]) == (0.9, True)  # 90 of 100; 0.9 ≥ 0.92 − 0.02
    (live.root / "empty.jsonl").write_text("")
    head = live.log_head()
    result = live.run("review", NAME, "--env", "staging", "--from-guard", "empty.jsonl")
    assert result.exit_code == 1 and "records no correct_route_rate outcome" in result.stderr and live.log_head() == head
    both = live.run("review", NAME, "--env", "staging", "--from-guard", "requests.jsonl", "--value", "1")
    assert both.exit_code == 2 and "either --value X or --from-guard SOURCE" in both.stderr and live.log_head() == head


def test_a_review_value_that_is_not_a_finite_number_is_refused_with_nothing_written(live: Workspace):
    head = live.log_head()
    for value in ("nan", "inf", "-inf"):
        result = live.run("review", NAME, "--env", "staging", "--value", value)
        assert result.exit_code == 2 and "a finite number" in result.stderr and "Traceback" not in result.output, result.output
    assert live.log_head() == head
