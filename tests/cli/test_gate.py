"""Each gate check, passing and failing, with its message."""

from datetime import timedelta

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import add, native_eval, native_report, promote, promptfoo_report, set_policy


def checks(ws: Workspace, ref: str, env: str, *extra: str) -> dict:
    result = ws.run("gate", ref, "--env", env, "--json", *extra)
    import json

    document = json.loads(result.stdout)
    assert result.exit_code == (0 if document["passed"] else 1)
    return {c["name"]: c for c in document["checks"]}


@pytest.fixture
def evidenced(registered: Workspace) -> Workspace:
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    return registered


def test_eval_gate_pass_and_fail(evidenced: Workspace):
    set_policy(evidenced, "environments:\n  staging: {gates: {eval: {min_cases: 50, min_pass_rate: 0.9, max_age: 1d}}}\n")
    v1 = checks(evidenced, V1, "staging")
    assert v1["eval.cases"]["passed"] and v1["eval.cases"]["value"] == 108
    assert not v1["eval.pass_rate"]["passed"] and v1["eval.pass_rate"]["detail"] == "96/108 passed"
    assert all(c["passed"] for c in checks(evidenced, V2, "staging").values())


def test_eval_gate_min_cases_and_slices(evidenced: Workspace):
    set_policy(
        evidenced,
        "environments:\n  staging: {gates: {eval: {min_cases: 120, min_pass_rate: 0.5,"
        " slices: {adversarial: {min_cases: 30, min_pass_rate: 0.9}, gold: {min_pass_rate: 0.95}, multilingual: {}}}}}\n",
    )
    v1 = checks(evidenced, V1, "staging")
    assert not v1["eval.cases"]["passed"]
    assert not v1["eval.slice.adversarial"]["passed"] and v1["eval.slice.adversarial"]["value"] == {"cases": 24, "pass_rate": 0.833333}
    assert not v1["eval.slice.gold"]["passed"]
    assert not v1["eval.slice.multilingual"]["passed"] and "no 'multilingual' slice" in v1["eval.slice.multilingual"]["detail"]
    v2 = checks(evidenced, V2, "staging")
    assert v2["eval.slice.adversarial"]["passed"] and v2["eval.slice.gold"]["passed"]


def test_missing_and_stale_eval_evidence(registered: Workspace):
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 1, min_pass_rate: 0.5, max_age: 2d}}}\n")
    missing = checks(registered, V1, "staging")
    assert not missing["eval"]["passed"] and "no eval evidence for this bundle digest" in missing["eval"]["detail"]
    add(registered, V1, promptfoo_report(registered, "v1", timedelta(days=3)))
    stale = checks(registered, V1, "staging")
    fresh = stale["eval.fresh"]
    assert not fresh["passed"] and fresh["unit"] == "seconds" and fresh["threshold"] == 2 * 86400
    assert 3 * 86400 <= fresh["value"] < 3 * 86400 + 600  # an age in seconds, not the text "3d"


def test_newest_run_counts_not_the_best(registered: Workspace):
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 1, min_pass_rate: 0.9}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1", timedelta(hours=1)))
    add(registered, V1, native_eval(registered, "v1", "older-perfect.json", timedelta(days=30)))
    assert not checks(registered, V1, "staging")["eval.pass_rate"]["passed"]


def test_evidence_for_another_bundle_never_counts(evidenced: Workspace):
    set_policy(evidenced, "environments:\n  staging: {gates: {eval: {min_cases: 1, min_pass_rate: 0.5}}}\n")
    v3 = evidenced.root / "bundles/support-triage-v3"
    import shutil

    shutil.copytree(evidenced.root / "bundles/support-triage-v2", v3)
    text = (v3 / "bundle.yaml").read_text().replace("2026.11.22-1", "2026.11.23-1").replace("temperature: 0.1", "temperature: 0.3")
    (v3 / "bundle.yaml").write_text(text)
    assert evidenced.run("register", str(v3)).exit_code == 0
    assert not checks(evidenced, "support-triage@2026.11.23-1", "staging")["eval"]["passed"]


def test_regression_gate(evidenced: Workspace):
    set_policy(evidenced, "environments:\n  staging: {gates: {regression: {max_drop: 0.02}}}\n")
    assert checks(evidenced, V2, "staging")["regression"]["detail"] == "nothing else is live in staging to compare with"
    promote(evidenced, V2, "staging")
    back = checks(evidenced, V1, "staging")["regression"]
    assert not back["passed"] and back["value"] == pytest.approx(1 - 0.833333, abs=1e-6)
    assert "adversarial" in back["detail"]


def test_latency_and_cost_gates(evidenced: Workspace):
    set_policy(
        evidenced,
        "environments:\n  staging: {gates: {latency: {max_p95_ms: 480},"
        " cost: {max_cost_per_task_usd: 0.002, daily_tasks: 100000, volume_multiplier: 10, max_daily_usd: 2000}}}\n",
    )
    v1, v2 = checks(evidenced, V1, "staging"), checks(evidenced, V2, "staging")
    assert v1["latency.p95_ms"]["passed"] and v1["latency.p95_ms"]["value"] == 431
    assert not v2["latency.p95_ms"]["passed"] and v2["latency.p95_ms"]["value"] == 514
    assert not v1["cost.per_task_usd"]["passed"] and not v1["cost.daily_projection_usd"]["passed"]
    assert v1["cost.daily_projection_usd"]["value"] == 2100.0
    assert v2["cost.daily_projection_usd"]["value"] == 1400.0 and v2["cost.daily_projection_usd"]["passed"]
    add(evidenced, V2, native_report(evidenced, "load", "load.json", metrics={"latency_p95_ms": 350}))
    add(evidenced, V1, native_report(evidenced, "cost", "cost.json", metrics={"cost_per_task_usd": 0.001}))
    v1, v2 = checks(evidenced, V1, "staging"), checks(evidenced, V2, "staging")
    assert v2["latency.p95_ms"]["passed"] and "load report" in v2["latency.p95_ms"]["detail"]
    assert v1["cost.per_task_usd"]["passed"] and v1["cost.daily_projection_usd"]["value"] == 1000.0


def test_approvals_exclude_author_and_promoter(evidenced: Workspace):
    set_policy(evidenced, "environments:\n  staging: {gates: {approvals: {min: 1, exclude_author: true}}}\n")
    assert evidenced.run("approve", V2, "--env", "staging").exit_code == 0  # tester@ registered it: self-approval
    self_approved = checks(evidenced, V2, "staging", "--actor", "carol@example.com")["approvals"]
    assert not self_approved["passed"] and "not counted (author or promoter): tester@example.com" in self_approved["detail"]
    assert evidenced.run("approve", V2, "--env", "staging", "--actor", "bob@example.com").exit_code == 0
    assert checks(evidenced, V2, "staging", "--actor", "carol@example.com")["approvals"]["passed"]
    promoter_own = checks(evidenced, V2, "staging", "--actor", "bob@example.com")["approvals"]
    assert not promoter_own["passed"] and "bob@example.com" in promoter_own["detail"]
    set_policy(evidenced, "environments:\n  staging: {gates: {approvals: {min: 2, exclude_author: false}}}\n")
    assert checks(evidenced, V2, "staging")["approvals"]["value"] == 2


def test_staged_order(evidenced: Workspace):
    set_policy(evidenced, "environments:\n  staging: {}\n  production: {after: staging}\n")
    first = checks(evidenced, V2, "production")["after"]
    assert not first["passed"] and first["detail"] == "has never been live in staging"
    result = evidenced.run("promote", V2, "--env", "production")
    assert result.exit_code == 1 and "failed after" in result.stderr
    promote(evidenced, V2, "staging")
    promote(evidenced, V2, "production")


def test_rehearsal_gate(evidenced: Workspace):
    set_policy(evidenced, "environments:\n  production: {gates: {rehearsal: {max_age: 30d}}}\n")
    first = checks(evidenced, V1, "production")["rehearsal"]  # a first release has nothing to roll back to
    assert first["passed"] and "nothing is live in production yet" in first["detail"]
    promote(evidenced, V1, "production")
    assert "no rollback rehearsal" in checks(evidenced, V2, "production")["rehearsal"]["detail"]
    add(evidenced, V2, native_report(evidenced, "rehearsal", "old.json", age=timedelta(days=40)))
    assert not checks(evidenced, V2, "production")["rehearsal"]["passed"]
    add(evidenced, V2, native_report(evidenced, "rehearsal", "new.json", age=timedelta(days=2)))
    assert checks(evidenced, V2, "production")["rehearsal"]["passed"]


def test_unknown_environment_is_refused(evidenced: Workspace):
    result = evidenced.run("gate", V2, "--env", "qa")
    assert result.exit_code == 1 and "environment 'qa' is not defined in the gate policy" in result.stderr


def test_starter_policy_gates_production_fully(evidenced: Workspace):
    production = checks(evidenced, V2, "production")
    assert set(production) == {
        "after",
        "eval",
        "regression",
        "latency.p95_ms",
        "cost.per_task_usd",
        "cost.daily_projection_usd",
        "rehearsal",
        "approvals",
    }
    # production demands runs by `bundlectl eval` (provenance: run): the attached reports here do not count
    assert not production["eval"]["passed"] and "provenance: run" in production["eval"]["detail"]
