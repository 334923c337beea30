from datetime import timedelta

from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy


def staged(ws: Workspace) -> Workspace:
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 7d}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    add(ws, V2, promptfoo_report(ws, "v2"))
    return ws


def test_promote_history_status(registered: Workspace):
    staged(registered)
    promote(registered, V1, "staging", "--reason", "first release")
    promote(registered, V2, "staging", "--reason", "better routing", "--actor", "bob@example.com")
    events = registered.json("history", "support-triage", "--env", "staging")["events"]
    assert [e["to_version"] for e in events] == ["2026.11.22-1", "2026.11.01-1"]
    assert set(events[0]) >= {"seq", "action", "env", "from_digest", "to_digest", "actor", "reason", "time"}
    assert events[0]["from_digest"] == events[1]["to_digest"] and events[1]["from_digest"] is None
    assert (events[0]["actor"], events[0]["reason"]) == ("bob@example.com", "better routing")
    live = registered.json("status")["environments"]
    assert len(live) == 1
    assert {k: live[0][k] for k in ("name", "env", "version", "pointer_version", "evidence_fresh", "verified")} == {
        "name": "support-triage", "env": "staging", "version": "2026.11.22-1", "pointer_version": 2,
        "evidence_fresh": True, "verified": True}
    assert registered.json("show", "support-triage@staging")["version"] == "2026.11.22-1"
    assert registered.json("show", "support-triage@staging~1")["version"] == "2026.11.01-1"
    assert registered.run("show", "support-triage@staging~5").exit_code == 4
    assert registered.run("verify").exit_code == 0


def test_refused_promotion_writes_nothing(registered: Workspace):
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.95}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    head, refs = registered.log_head(), registered.bundlectl_refs()
    result = registered.run("promote", V1, "--env", "staging")
    assert result.exit_code == 1
    assert "may not go live in staging: failed eval.pass_rate; nothing was changed" in result.stderr
    assert "✗  eval.pass_rate" in result.stdout
    assert registered.log_head() == head and registered.bundlectl_refs() == refs


def test_dry_run_and_already_live(registered: Workspace):
    staged(registered)
    head = registered.log_head()
    dry = registered.run("promote", V1, "--env", "staging", "--dry-run")
    assert dry.exit_code == 0 and "would move staging of support-triage: nothing → 2026.11.01-1" in dry.output
    assert registered.log_head() == head and registered.json("status")["environments"] == []
    promote(registered, V1, "staging")
    head = registered.log_head()
    again = registered.run("promote", V1, "--env", "staging")
    assert again.exit_code == 0 and "already live in staging; nothing to do" in again.output
    assert registered.log_head() == head


def test_status_check_fails_on_stale_evidence(registered: Workspace):
    staged(registered)
    promote(registered, V1, "staging")
    assert registered.run("status", "--check").exit_code == 0
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 30m}}}\n")
    result = registered.run("status", "--check")
    assert result.exit_code == 1
    assert "support-triage@2026.11.01-1 in staging: eval.fresh" in result.stderr
    assert registered.json("status")["environments"][0]["evidence_fresh"] is False


def test_status_check_fails_on_failing_evidence(registered: Workspace):
    staged(registered)
    promote(registered, V1, "staging")
    add(registered, V1, promptfoo_report(registered, "v1", timedelta(minutes=5), name="newer.json"))
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.9}}}\n")
    result = registered.run("status", "--check")
    assert result.exit_code == 1 and "eval.pass_rate" in result.stderr


def test_policy_show_and_bad_policy(registered: Workspace):
    shown = registered.json("policy", "show")
    assert set(shown["policy"]["environments"]) == {"staging", "production"}
    bad = registered.root / "bad.yaml"
    bad.write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  production:\n    after: staging\n    gates:\n      eval: {min_pass_rate: 1.5}\n")
    head = registered.log_head()
    result = registered.run("policy", "set", str(bad))
    assert result.exit_code == 1
    assert "bad.yaml:7: environments.production.gates.eval.min_pass_rate" in result.stderr
    assert registered.log_head() == head
    typo = registered.root / "typo.yaml"
    typo.write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  prod: {after: stagin}\n")
    result = registered.run("policy", "set", str(typo))
    assert result.exit_code == 1 and "comes after 'stagin', which the policy does not define" in result.stderr
    assert registered.log_head() == head
