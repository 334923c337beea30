import json
from datetime import timedelta

from tests.conftest import V1, Workspace
from tests.helpers import FIXTURES, add, native_eval, native_report, promptfoo_report


def test_promptfoo_report_of_the_bundles_own_suite_is_bound(registered: Workspace):
    report = promptfoo_report(registered, "v1")
    result = registered.json("evidence", "add", V1, report)
    assert result["created"] and result["kind"] == "eval" and result["source"] == "promptfoo"
    assert result["figures"]["cases"] == 108 and result["figures"]["slices"]["adversarial"]["cases"] == 24  # 54 cases × 2 prompts
    listed = registered.json("evidence", "list", V1)["evidence"]
    assert len(listed) == 1 and listed[0]["fresh"] is True and listed[0]["age"] == "1h"
    again = registered.json("evidence", "add", V1, report)
    assert again["created"] is False


def test_report_of_another_suite_is_refused_and_nothing_stored(registered: Workspace):
    head, refs = registered.log_head(), registered.bundlectl_refs()
    result = registered.run("evidence", "add", V1, promptfoo_report(registered, "v2"))
    assert result.exit_code == 1
    assert "ran another suite than support-triage@2026.11.01-1's evals component" in result.stderr
    assert "'adversarial-13' is in the report but not in the suite" in result.stderr
    other = registered.run("evidence", "add", V1, str(FIXTURES / "promptfoo-results.json"))
    assert other.exit_code == 1 and "6 tests in the report, 54 in the suite" in other.stderr
    assert registered.log_head() == head and registered.bundlectl_refs() == refs


def test_malformed_report_is_refused_and_nothing_stored(registered: Workspace):
    bad = registered.root / "bad.json"
    bad.write_text(
        '{"evalId": "eval-abc-2026-11-22T00:00:00", "results": {"version": 3, "timestamp": "2026-11-22T00:00:00Z", '
        '"results": [{"success": 1}]}, "config": {"tests": []}}'
    )
    head, refs = registered.log_head(), registered.bundlectl_refs()
    result = registered.run("evidence", "add", V1, str(bad))
    assert result.exit_code == 1 and "bad.json: results.results[0].success: has no boolean success" in result.stderr
    assert "Traceback" not in result.output
    assert registered.log_head() == head and registered.bundlectl_refs() == refs


def test_report_from_the_future_is_refused(registered: Workspace):
    result = registered.run("evidence", "add", V1, promptfoo_report(registered, "v1", timedelta(hours=-3)))
    assert result.exit_code == 1 and "claims its run happened in the future" in result.stderr


def test_native_eval_and_load_reports(registered: Workspace):
    add(registered, V1, native_eval(registered, "v1", "eval.json", failing=3))
    add(registered, V1, native_report(registered, "load", "load.json", metrics={"latency_p95_ms": 900}))
    listed = registered.json("evidence", "list", V1)["evidence"]
    assert sorted(e["kind"] + "/" + e["source"] for e in listed) == ["eval/native", "load/native"]
    native = next(e for e in listed if e["kind"] == "eval")
    assert native["figures"]["passed"] == 51 and native["cases"] == "suite" and native["provenance"] == "attached"
    wrong = registered.run("evidence", "add", V1, str(FIXTURES / "junit-results.xml"), "--kind", "load")
    assert wrong.exit_code == 2 and "is a eval report (junit), not load" in wrong.stderr


def test_stale_evidence_is_listed_as_stale(registered: Workspace):
    add(registered, V1, promptfoo_report(registered, "v1", timedelta(days=9)))
    listed = registered.json("evidence", "list", V1)["evidence"]
    assert listed[0]["fresh"] is False and listed[0]["age"] == "9d"


def test_evidence_needs_a_registered_bundle(registered: Workspace):
    folder = registered.root / "bundles/support-triage-v1"
    (folder / "runbook.md").write_text("changed\n")
    result = registered.run("evidence", "add", str(folder), promptfoo_report(registered, "v1"))
    assert result.exit_code == 4 and "is not registered" in result.stderr and "bundlectl register" in result.stderr


def test_folder_ref_of_a_registered_bundle_works(registered: Workspace):
    result = registered.json("evidence", "add", "bundles/support-triage-v2", promptfoo_report(registered, "v2"))
    assert result["version"] == "2026.11.22-1" and result["created"]


def test_freshness_is_judged_per_kind_as_the_gate_judges_it(registered: Workspace):
    from tests.helpers import set_policy

    set_policy(
        registered,
        "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 1d},"
        " rehearsal: {max_age: 30d}, latency: {max_p95_ms: 2500, max_age: 12h}}}\n",
    )
    add(registered, V1, promptfoo_report(registered, "v1", timedelta(days=2)))
    add(registered, V1, native_report(registered, "rehearsal", "rehearsal.json", age=timedelta(days=2)))
    add(registered, V1, native_report(registered, "load", "load.json", age=timedelta(days=2), metrics={"latency_p95_ms": 900}))
    listing = registered.json("evidence", "list", V1, "--env", "staging")
    judged = {e["kind"]: (e["fresh"], e["max_age"]) for e in listing["evidence"]}
    assert judged == {"eval": (False, "1d"), "rehearsal": (True, "30d"), "load": (False, "12h")}
    result = registered.run("gate", V1, "--env", "staging", "--json")
    assert result.exit_code == 1
    gate = {c["name"]: c["passed"] for c in json.loads(result.stdout)["checks"]}
    assert gate["rehearsal"] is True and gate["eval.fresh"] is False and gate["latency.p95_ms"] is False
