import itertools
import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy

POLICY = """environments:
  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 7d}}}
  production:
    after: staging
    production: true
    gates: {eval: {min_cases: 20, min_pass_rate: 0.8}, rehearsal: {max_age: 30d}}
"""


@pytest.fixture
def live(registered: Workspace) -> Workspace:
    """v1 then v2 promoted to staging, each with fresh passing evidence."""
    set_policy(registered, POLICY)
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    promote(registered, V1, "staging")
    promote(registered, V2, "staging")
    return registered


def components(ws: Workspace, ref: str) -> dict[str, str]:
    return {k: c["digest"] for k, c in ws.json("show", ref)["components"].items()}


def test_whole_rollback_and_back(live: Workspace):
    result = live.json("rollback", "support-triage", "--env", "staging", "--reason", "misroutes")
    assert result["to"] == {"version": "2026.11.01-1", "digest": live.json("show", V1)["digest"], "new": False}
    assert result["pointer_version"] == 3 and result["verified"] is True
    status = live.json("status")["environments"][0]
    assert (status["version"], status["verified"]) == ("2026.11.01-1", True)
    again = live.json("rollback", "support-triage", "--env", "staging")
    assert again["to"]["version"] == "2026.11.22-1"
    events = live.json("history", "support-triage", "--env", "staging")["events"]
    assert [e["action"] for e in events] == ["rollback", "rollback", "promote", "promote"]
    assert events[1]["reason"] == "misroutes"
    assert live.run("verify").exit_code == 0


def test_whole_rollback_reports_stale_evidence_but_needs_no_new_eval(live: Workspace):
    set_policy(live, POLICY.replace("max_age: 7d", "max_age: 30m"))
    result = live.run("rollback", "support-triage", "--env", "staging")
    assert result.exit_code == 0
    assert "evidence of 2026.11.01-1 under staging's eval gate: eval.fresh" in result.stderr
    assert live.run("status", "--check").exit_code == 1


def test_rollback_to(live: Workspace):
    live.run("rollback", "support-triage", "--env", "staging")
    assert live.json("rollback", "support-triage", "--env", "staging", "--to", V2)["to"]["version"] == "2026.11.22-1"
    current = live.run("rollback", "support-triage", "--env", "staging", "--to", V2)
    assert current.exit_code == 1 and "is what is live in staging now" in current.stderr
    never = live.run("rollback", "support-triage", "--env", "production", "--to", V1)
    assert never.exit_code == 4 and "nothing of support-triage is live in production" in never.stderr


def test_rollback_to_a_bundle_never_live_there(live: Workspace):
    folder = live.root / "bundles/support-triage-v3"
    shutil.copytree(live.root / "bundles/support-triage-v2", folder)
    text = (folder / "bundle.yaml").read_text()
    (folder / "bundle.yaml").write_text(text.replace("2026.11.22-1", "2026.11.23-1").replace("temperature: 0.1", "temperature: 0.0"))
    assert live.run("register", str(folder)).exit_code == 0
    head = live.log_head()
    result = live.run("rollback", "support-triage", "--env", "staging", "--to", "support-triage@2026.11.23-1")
    assert result.exit_code == 1 and "has never been live in staging" in result.stderr and "bundlectl promote" in result.stderr
    assert live.log_head() == head


def test_nothing_before(registered: Workspace):
    set_policy(registered, POLICY)
    add(registered, V1, promptfoo_report(registered, "v1"))
    promote(registered, V1, "staging")
    result = registered.run("rollback", "support-triage", "--env", "staging")
    assert result.exit_code == 1 and "nothing was live in staging before" in result.stderr


def test_component_rollback_keeps_the_other_seven(live: Workspace):
    result = live.run(
        "rollback",
        "support-triage",
        "--env",
        "staging",
        "--component",
        "guardrails",
        "--break-glass",
        "--reason",
        "escalations stopped arriving",
        "--json",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["to"]["new"] and document["to"]["version"] == "2026.11.22-1+rb.guardrails"
    built, before, source = components(live, "support-triage@staging"), components(live, V2), components(live, V1)
    assert built["guardrails"] == source["guardrails"] != before["guardrails"]
    assert {k: v for k, v in built.items() if k != "guardrails"} == {k: v for k, v in before.items() if k != "guardrails"}
    shown = live.json("show", "support-triage@staging")
    assert shown["lineage"]["swapped"] == ["guardrails"]
    assert shown["lineage"]["rollback_of"]["version"] == "2026.11.22-1"
    assert shown["lineage"]["components_from"]["version"] == "2026.11.01-1"
    event = live.json("history", "support-triage", "--env", "staging")["events"][0]
    assert event["components"] == ["guardrails"] and event["break_glass"] is True and event["verified"] is False
    assert [p["version"] for p in event["parents"]] == ["2026.11.22-1", "2026.11.01-1"]
    assert live.run("verify").exit_code == 0


def test_component_rollback_without_evidence_is_refused_and_writes_nothing(live: Workspace):
    head, refs = live.log_head(), live.bundlectl_refs()
    result = live.run("rollback", "support-triage", "--env", "staging", "--component", "guardrails")
    assert result.exit_code == 1
    assert "2026.11.22-1+rb.guardrails may not go live in staging: failed eval" in result.stderr
    assert "--break-glass --reason" in result.stderr
    no_reason = live.run("rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--break-glass")
    assert no_reason.exit_code == 2 and "--break-glass needs --reason" in no_reason.stderr
    assert live.log_head() == head and live.bundlectl_refs() == refs


def test_break_glass_is_unverified_until_fresh_evidence(live: Workspace):
    assert (
        live.run(
            "rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--break-glass", "--reason", "incident 4711"
        ).exit_code
        == 0
    )
    check = live.run("status", "--check")
    assert check.exit_code == 1 and "unverified: went live by break-glass" in check.stderr
    assert live.json("status")["environments"][0]["verified"] is False
    add(live, "support-triage@staging", promptfoo_report(live, "v2", name="rerun.json"))  # same suite: evals unchanged
    assert live.run("status", "--check").exit_code == 0
    assert live.json("status")["environments"][0]["verified"] is True


def test_component_rollback_with_evidence_goes_through_the_gate(live: Workspace):
    live.run("rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--break-glass", "--reason", "x")
    add(live, "support-triage@staging", promptfoo_report(live, "v2", name="rerun.json"))
    live.run("rollback", "support-triage", "--env", "staging", "--to", V2)
    again = live.json("rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--to", V1)
    assert again["to"] == {"version": "2026.11.22-1+rb.guardrails", "digest": again["to"]["digest"], "new": False}
    assert again["verified"] is True and again["break_glass"] is False


@pytest.mark.parametrize(
    "kind,message",
    [
        ("prompt", "the prompt is written for output schema version 2, but the schema component is version 3"),
        ("schema", "the prompt is written for output schema version 3, but the schema component is version 2"),
        ("tools", "the prompt calls tool refund_status, which the tools component does not provide"),
    ],
)
def test_constraints_refuse_bad_mixes_even_with_break_glass(live: Workspace, kind: str, message: str):
    head = live.log_head()
    for extra in ([], ["--break-glass", "--reason", "incident"], ["--dry-run"]):
        result = live.run("rollback", "support-triage", "--env", "staging", "--component", kind, *extra)
        assert result.exit_code == 1 and message in result.stderr and "--break-glass does not override" in result.stderr
    assert live.log_head() == head


def test_prompt_and_schema_together_are_a_consistent_mix(live: Workspace):
    outcome = live.run("rollback", "support-triage", "--env", "staging", "--component", "prompt", "--component", "schema", "--dry-run")
    assert "the prompt is written for output schema version" not in outcome.stderr
    assert "the prompt calls tool" not in outcome.stderr


def test_retriever_index_constraint_at_registration(live: Workspace):
    folder = live.root / "bundles/support-triage-bad"
    shutil.copytree(live.root / "bundles/support-triage-v2", folder)
    text = (folder / "bundle.yaml").read_text()
    text = text.replace("    embedding_model: text-embedding-3-large\n", "    embedding_model: text-embedding-3-small\n")
    (folder / "bundle.yaml").write_text(text.replace("2026.11.22-1", "2026.11.22-9"))
    head = live.log_head()
    result = live.run("register", str(folder))
    assert result.exit_code == 1
    assert "the retriever queries with text-embedding-3-small but its index was built with text-embedding-3-large" in result.stderr
    assert live.log_head() == head


def test_dry_run_shows_the_bundle_and_diff_and_writes_nothing(live: Workspace):
    head, refs = live.log_head(), live.bundlectl_refs()
    result = live.run("rollback", "support-triage", "--env", "staging", "--component", "runbook", "--dry-run")
    assert result.exit_code == 1  # it would be refused: no evidence for that exact bundle
    assert "would build support-triage@2026.11.22-1+rb.runbook" in result.stdout
    assert "changed: runbook   unchanged: model, prompt, schema, retriever, tools, guardrails, evals" in result.stdout
    assert "-- GDPR requests are escalated" in result.stdout
    assert "✗ would be refused: support-triage@2026.11.22-1+rb.runbook fails eval in staging" in result.stderr
    assert "would roll back" not in result.output  # no "✓ would roll back" before a refusal
    assert "--component runbook --to support-triage@2026.11.01-1 --register-only" in result.stderr  # the way to evidence
    whole = live.json("rollback", "support-triage", "--env", "staging", "--dry-run")
    assert whole["dry_run"] and not whole["changed"] and whole["diff"]["changed"]
    assert live.log_head() == head and live.bundlectl_refs() == refs


def test_rehearsal_is_recorded_and_required_by_policy(live: Workspace):
    gate = live.run("gate", V2, "--env", "production", "--json")
    first = {c["name"]: c for c in json.loads(gate.stdout)["checks"]}["rehearsal"]
    assert first["passed"] is True and "nothing is live in production yet" in first["detail"]  # a first release
    result = live.run("rollback", "support-triage", "--env", "staging", "--rehearse")
    assert result.exit_code == 0, result.output
    assert "rolled back to 2026.11.01-1, then forward to 2026.11.22-1" in result.stdout
    assert live.json("status")["environments"][0]["version"] == "2026.11.22-1"
    events = live.json("history", "support-triage", "--env", "staging")["events"]
    assert [e.get("rehearsal") for e in events[:2]] == ["forward", "back"]
    rehearsals = [e for e in live.json("evidence", "list", V2)["evidence"] if e["kind"] == "rehearsal"]
    assert len(rehearsals) == 1 and rehearsals[0]["figures"]["rollback_ms"] >= 0
    gate = json.loads(live.run("gate", V2, "--env", "production", "--json").stdout)
    assert {c["name"]: c["passed"] for c in gate["checks"]}["rehearsal"] is True
    promote(live, V2, "production")
    after_first = json.loads(live.run("gate", V1, "--env", "production", "--json").stdout)
    assert {c["name"]: c["passed"] for c in after_first["checks"]}["rehearsal"] is False  # V1 was never rehearsed
    refused = live.run("rollback", "support-triage", "--env", "production", "--rehearse")
    assert refused.exit_code == 1 and "production environment in the policy; rehearsals are refused" in refused.stderr
    assert live.run("verify").exit_code == 0


def test_rollback_racing_promotions_loses_no_update(live: Workspace):
    folder = live.root / "bundles/support-triage-v3"
    shutil.copytree(live.root / "bundles/support-triage-v2", folder)
    text = (folder / "bundle.yaml").read_text()
    (folder / "bundle.yaml").write_text(text.replace("2026.11.22-1", "2026.11.23-1").replace("temperature: 0.1", "temperature: 0.0"))
    assert live.run("register", str(folder)).exit_code == 0
    add(live, "support-triage@2026.11.23-1", promptfoo_report(live, "v2", name="v3.json"))
    commands = [
        ["rollback", "support-triage", "--env", "staging"],
        ["promote", "support-triage@2026.11.23-1", "--env", "staging"],
        ["rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--break-glass", "--reason", "x"],
        ["promote", V1, "--env", "staging"],
    ]
    procs = [
        subprocess.Popen([sys.executable, "-m", "bundlectl", *c], cwd=live.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for code, stderr in outcomes:
        assert code in (0, 1, 3), outcomes
        if code == 3:
            assert "was moved by" in stderr and "nothing was changed" in stderr
        if code == 1:  # planned after another move: the component may equal the one now before it
            assert "nothing to roll back" in stderr, stderr
    assert any(code == 0 for code, _ in outcomes)
    events = live.json("history", "support-triage", "--env", "staging")["events"]
    for newer, older in itertools.pairwise(events):
        assert newer["from_digest"] == older["to_digest"]
    assert live.run("verify").exit_code == 0


def test_rollback_planned_against_a_pointer_that_then_moves_is_a_conflict(live: Workspace, monkeypatch):
    """The operator decided to undo what they saw live; if it changed meanwhile, nothing may move."""
    from bundlectl.workflows import rollback as rollback_module

    storage = live.storage()
    real_plan = rollback_module.plan_rollback

    def plan_then_someone_promotes(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        promote(live, V1, "staging", "--actor", "bob@example.com")
        return plan

    monkeypatch.setattr(rollback_module, "plan_rollback", plan_then_someone_promotes)
    from bundlectl.errors import Conflict

    with pytest.raises(Conflict) as err:
        rollback_module.rollback(storage, "support-triage", "staging", "alice@example.com")
    assert "staging of support-triage was moved by bob@example.com" in err.value.message
    assert live.json("status")["environments"][0]["version"] == "2026.11.01-1"


def test_register_only_lets_evidence_come_before_a_gated_component_rollback(live: Workspace):
    before = live.json("status")
    history = live.json("history", "support-triage", "--env", "staging")
    dry = live.json("rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--register-only", "--dry-run")
    assert dry["dry_run"] and not dry["created"] and dry["seq"] is None
    assert live.run("show", "support-triage@2026.11.22-1+rb.guardrails").exit_code == 4  # the dry run wrote nothing
    built = live.json("rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--register-only", "--reason", "evidence first")
    assert built["created"] and built["moved"] is False and built["version"] == "2026.11.22-1+rb.guardrails"
    assert live.json("status") == before and live.json("history", "support-triage", "--env", "staging") == history
    shown = live.json("show", "support-triage@2026.11.22-1+rb.guardrails")
    assert shown["digest"] == built["digest"] and shown["lineage"]["swapped"] == ["guardrails"]
    again = live.json("rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--register-only")
    assert again["created"] is False and again["digest"] == built["digest"]  # registered once
    add(live, "support-triage@2026.11.22-1+rb.guardrails", promptfoo_report(live, "v2", name="rb.json"))
    rolled = live.json("rollback", "support-triage", "--env", "staging", "--component", "guardrails")
    assert rolled["to"]["new"] is False and rolled["to"]["digest"] == built["digest"]
    assert rolled["verified"] is True and rolled["break_glass"] is False  # through the gate, not the glass
    assert live.run("status", "--check").exit_code == 0 and live.run("verify").exit_code == 0


@pytest.mark.parametrize(
    "extra,message",
    [
        ([], "--register-only builds the bundle of a component rollback; name it with --component KIND"),
        (["--component", "guardrails", "--break-glass", "--reason", "x"], "--register-only moves nothing"),
        (["--component", "guardrails", "--rehearse"], "--register-only moves nothing"),
    ],
)
def test_register_only_misuse_is_a_usage_error_and_writes_nothing(live: Workspace, extra: list[str], message: str):
    head, refs = live.log_head(), live.bundlectl_refs()
    result = live.run("rollback", "support-triage", "--env", "staging", "--register-only", *extra)
    assert result.exit_code == 2 and message in result.stderr
    assert live.log_head() == head and live.bundlectl_refs() == refs
