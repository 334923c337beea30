"""A component rollback in production by the documented path (`--register-only`, evidence, roll back), under the
policy's `rollback:` rules; and refusals that name the checks that actually fail."""

from __future__ import annotations

import json

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy

PRODUCTION = """environments:
  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 7d}}}
  production:
    after: staging
    production: true
    gates: {eval: {min_cases: 20, min_pass_rate: 0.8}, rehearsal: {max_age: 30d}, approvals: {min: 1}}
"""
WAIVING = PRODUCTION + "    rollback: {waive: [after, approvals]}\n"
BUILT = "support-triage@2026.11.22-1+rb.guardrails"


@pytest.fixture
def in_production(git_registered: Workspace) -> Workspace:
    """v1 then v2 live in production, each rehearsed in staging and approved by someone else."""
    ws = git_registered
    set_policy(ws, PRODUCTION)
    add(ws, V1, promptfoo_report(ws, "v1"))
    add(ws, V2, promptfoo_report(ws, "v2"))
    promote(ws, V1, "staging")
    promote(ws, V2, "staging")
    for step in (["--rehearse"], [], ["--rehearse"]):  # rehearses v2; back to v1; rehearses v1
        result = ws.run("rollback", "support-triage", "--env", "staging", *step)
        assert result.exit_code == 0, result.output
    for ref in (V1, V2):
        assert ws.run("approve", ref, "--env", "production", "--actor", "bob@example.com").exit_code == 0
        promote(ws, ref, "production")
    built = ws.run("rollback", "support-triage", "--env", "production", "--component", "guardrails", "--register-only")
    assert built.exit_code == 0, built.output
    add(ws, BUILT, promptfoo_report(ws, "v2", name="rb.json"))  # guardrails are not in the suite: v2's run is its run
    return ws


def test_without_rollback_rules_the_refusal_names_the_failing_checks_not_evidence(in_production: Workspace):
    head = in_production.log_head()
    result = in_production.run("rollback", "support-triage", "--env", "production", "--component", "guardrails")
    assert result.exit_code == 1
    assert f"{BUILT} may not go live in production: failed after, approvals" in result.stderr
    assert "no passing evidence" not in result.output and "evidence for" not in result.stderr
    assert "the policy can waive it for component rollbacks (`rollback: {waive: [after]}` under production)" in result.stderr
    assert in_production.log_head() == head


def test_the_documented_path_passes_where_the_policy_waives_after_and_approvals(in_production: Workspace):
    set_policy(in_production, WAIVING)
    rolled = in_production.json("rollback", "support-triage", "--env", "production", "--component", "guardrails")
    assert rolled["verified"] is True and rolled["break_glass"] is False and rolled["to"]["version"] == BUILT.split("@")[1]
    checks = {c["name"]: c for c in rolled["gate"]["checks"]}
    assert checks["after"]["passed"] and "waived for a component rollback" in checks["after"]["detail"]
    assert checks["approvals"]["passed"] and "waived" in checks["approvals"]["detail"]
    assert checks["rehearsal"]["passed"] and "waived" not in checks["rehearsal"]["detail"]  # v2's rehearsed rollback counts
    assert in_production.run("status", "--check").exit_code == 0 and in_production.run("verify").exit_code == 0


def test_waivers_apply_to_component_rollbacks_only(in_production: Workspace):
    set_policy(in_production, WAIVING)
    gate = json.loads(in_production.run("gate", BUILT, "--env", "production", "--json").stdout)
    assert {c["name"]: c["passed"] for c in gate["checks"]}["after"] is False  # a promotion of it is not a rollback


def test_evidence_is_never_waived(in_production: Workspace):
    set_policy(in_production, WAIVING.replace("{min_cases: 20, min_pass_rate: 0.8}", "{min_cases: 200, min_pass_rate: 0.8}"))
    result = in_production.run("rollback", "support-triage", "--env", "production", "--component", "guardrails")
    assert result.exit_code == 1 and "failed eval.cases" in result.stderr
    assert "--register-only`, then `bundlectl eval support-triage@2026.11.22-1+rb.guardrails`" in result.stderr


def test_a_rollback_rule_that_waives_evidence_is_refused(git_registry: Workspace):
    path = git_registry.root / "policy.yaml"
    path.write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  production:\n    rollback: {waive: [eval]}\n")
    head = git_registry.log_head()
    result = git_registry.run("policy", "set", str(path))
    assert result.exit_code != 0 and "rollback.waive" in result.stderr
    assert git_registry.log_head() == head


def test_break_glass_says_status_check_passes_when_the_evidence_already_does(in_production: Workspace):
    result = in_production.run(
        "rollback", "support-triage", "--env", "production", "--component", "guardrails", "--break-glass", "--reason", "incident 4711"
    )
    assert result.exit_code == 0, result.output
    assert "its eval evidence passes, so `status --check` counts it verified" in result.stdout
    assert "fails until" not in result.stdout
    assert in_production.run("status", "--check").exit_code == 0
