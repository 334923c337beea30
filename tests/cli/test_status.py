"""`status --check`: a live bundle whose evidence went stale or failing fails the check."""

from datetime import timedelta

from tests.conftest import V1, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy


def test_status_check_fails_on_stale_evidence(staged: Workspace):
    promote(staged, V1, "staging")
    assert staged.run("status", "--check").exit_code == 0
    set_policy(staged, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 30m}}}\n")
    result = staged.run("status", "--check")
    assert result.exit_code == 1
    assert "support-triage@2026.11.01-1 in staging: eval.fresh" in result.stderr
    assert staged.json("status")["environments"][0]["evidence_fresh"] is False


def test_status_check_fails_on_failing_evidence(staged: Workspace):
    promote(staged, V1, "staging")
    add(staged, V1, promptfoo_report(staged, "v1", timedelta(minutes=5), name="newer.json"))
    set_policy(staged, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.9}}}\n")
    result = staged.run("status", "--check")
    assert result.exit_code == 1 and "eval.pass_rate" in result.stderr
