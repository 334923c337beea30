"""`promote`: through the gate or not at all, dry runs, and what history and status say afterwards."""

from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy


def test_promote_history_status(staged: Workspace):
    promote(staged, V1, "staging", "--reason", "first release")
    promote(staged, V2, "staging", "--reason", "better routing", "--actor", "bob@example.com")
    events = staged.json("history", "support-triage", "--env", "staging")["events"]
    assert [e["to_version"] for e in events] == ["2026.11.22-1", "2026.11.01-1"]
    assert set(events[0]) >= {"seq", "action", "env", "from_digest", "to_digest", "actor", "reason", "time"}
    assert events[0]["from_digest"] == events[1]["to_digest"] and events[1]["from_digest"] is None
    assert (events[0]["actor"], events[0]["reason"]) == ("bob@example.com", "better routing")
    live = staged.json("status")["environments"]
    assert len(live) == 1
    assert {k: live[0][k] for k in ("name", "env", "version", "pointer_version", "evidence_fresh", "verified")} == {
        "name": "support-triage",
        "env": "staging",
        "version": "2026.11.22-1",
        "pointer_version": 2,
        "evidence_fresh": True,
        "verified": True,
    }
    assert staged.json("show", "support-triage@staging")["version"] == "2026.11.22-1"
    assert staged.json("show", "support-triage@staging~1")["version"] == "2026.11.01-1"
    assert staged.run("show", "support-triage@staging~5").exit_code == 4
    assert staged.run("verify").exit_code == 0


def test_refused_promotion_writes_nothing(registered: Workspace):
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.95}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    head, refs = registered.log_head(), registered.bundlectl_refs()
    result = registered.run("promote", V1, "--env", "staging")
    assert result.exit_code == 1
    assert "may not go live in staging: failed eval.pass_rate; nothing was changed" in result.stderr
    assert "✗  eval.pass_rate" in result.stdout
    assert registered.log_head() == head and registered.bundlectl_refs() == refs


def test_dry_run_and_already_live(staged: Workspace):
    head = staged.log_head()
    dry = staged.run("promote", V1, "--env", "staging", "--dry-run")
    assert dry.exit_code == 0 and "would move staging of support-triage: nothing → 2026.11.01-1" in dry.output
    assert staged.log_head() == head and staged.json("status")["environments"] == []
    promote(staged, V1, "staging")
    head = staged.log_head()
    again = staged.run("promote", V1, "--env", "staging")
    assert again.exit_code == 0 and "already live in staging; nothing to do" in again.output
    assert staged.log_head() == head
