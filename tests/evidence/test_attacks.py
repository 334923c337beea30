"""DESIGN §10, as an attacker and a careless user would try it: every report here is refused (exit 1, one or
two lines naming the case, field or prompt), and nothing is stored, neither the record nor the raw bytes."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import FIXTURES, add, iso, native_eval, promptfoo_report, set_policy


def edited(ws: Workspace, name: str, change: Any, example: str = "v1", age: timedelta = timedelta(hours=1)) -> str:
    """A real promptfoo run of the example's suite, edited by `change(document)` (or given as text)."""
    path = Path(promptfoo_report(ws, example, age, name=name))
    document = json.loads(path.read_text())
    result = change(document)
    path.write_text(result if isinstance(result, str) else json.dumps(document))
    return str(path)


def refused(ws: Workspace, ref: str, report: str, *words: str) -> str:
    """`evidence add` refuses with exit 1 in at most two lines naming `words`, and stores nothing at all."""
    head, refs = ws.log_head(), ws.bundlectl_refs()
    result = ws.run("evidence", "add", ref, report)
    assert result.exit_code == 1, result.output
    error = result.stderr
    assert "Traceback" not in result.output and len([line for line in error.splitlines() if line.startswith("error:")]) <= 2
    for word in words:
        assert word in error, error
    assert ws.log_head() == head and ws.bundlectl_refs() == refs, "a refused report left something in the registry"
    return error


def results(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["results"]["results"]


def test_repeating_the_passing_cases_does_not_inflate_the_run(registered: Workspace):
    def repeat(document: dict[str, Any]) -> None:
        passing = [r for r in results(document) if r["success"]]
        document["results"]["results"] = passing * 3 + passing[:56]  # 200 passing results, 48/54 really
    refused(registered, V1, edited(registered, "repeated.json", repeat), "appears 4 times",
            "a run reports each case of the suite once")


def test_failing_cases_renamed_and_marked_passing_are_refused(registered: Workspace):
    def rename(document: dict[str, Any], drop_index: bool = False) -> None:
        for n, result in enumerate(r for r in results(document) if not r["success"]):
            result["success"], result["testCase"]["description"] = True, f"made-up-{n}"
            if drop_index:
                del result["testIdx"]
    refused(registered, V1, edited(registered, "renamed.json", rename), "is case 'made-up-0', but its testIdx points at")
    refused(registered, V1, edited(registered, "renamed2.json", lambda d: rename(d, True)),
            "case 'made-up-0' is not in the suite's cases (evals/promptfooconfig.yaml)")


def test_failing_cases_dropped_are_refused(registered: Workspace):
    def drop(document: dict[str, Any]) -> None:
        document["results"]["results"] = [r for r in results(document) if r["success"]]
    refused(registered, V1, edited(registered, "dropped.json", drop), "is missing from the report", "and 5 more")


def junit(ws: Workspace, name: str, cases: list[str], failed: tuple[str, ...] = ()) -> str:
    body = "".join(f'<testcase classname="{c.split("::")[0]}" name="{c.split("::")[1]}" time="0.2">'
                   + ("<failure message='no'/>" if c in failed else "") + "</testcase>" for c in cases)
    path = ws.root / name
    path.write_text(f'<testsuites><testsuite name="pytest" timestamp="{iso(timedelta(hours=1))}">{body}</testsuite></testsuites>')
    return str(path)


def test_unrelated_junit_report_is_refused_for_a_promptfoo_suite(registered: Workspace):
    report = junit(registered, "unrelated.xml", [f"test_misc::test_{n}" for n in range(90)])
    refused(registered, V1, report, "'test_misc::test_0' is not in the suite's cases (evals/promptfooconfig.yaml)")


def test_unrelated_native_report_is_refused(registered: Workspace):
    report = registered.root / "native.json"
    report.write_text(json.dumps({"format": "bundlectl/evidence-v1", "kind": "eval", "run_at": iso(timedelta(hours=1)),
                                  "cases": [{"id": f"c{n}", "passed": True} for n in range(90)]}))
    refused(registered, V1, str(report), "case 'c0' is not in the suite's cases")


def test_a_genuine_run_of_another_bundle_with_the_same_suite_is_refused(registered: Workspace):
    """B has another system prompt and another model snapshot, but the very same evals component as A (v1)."""
    b = registered.root / "bundles/support-triage-b"
    shutil.copytree(registered.root / "bundles/support-triage-v1", b)
    (b / "prompts/system.md").write_text("You are a different triage assistant.\n")
    text = (b / "bundle.yaml").read_text().replace("2026.11.01-1", "2026.12.01-1").replace("gpt-4o-2024-08-06", "gpt-4o-2024-11-20")
    (b / "bundle.yaml").write_text(text)
    assert registered.run("register", str(b)).exit_code == 0
    assert registered.json("show", V1)["components"]["evals"]["digest"] == \
        registered.json("show", "support-triage@2026.12.01-1")["components"]["evals"]["digest"]
    refused(registered, "support-triage@2026.12.01-1", promptfoo_report(registered, "v1"),
            "provider file://provider.py (label 'triage-gpt-4o-2024-08-06')", "gpt-4o-2024-11-20")


def test_a_report_whose_prompt_is_not_a_prompt_file_of_the_bundle_is_refused(registered: Workspace):
    def other_prompt(document: dict[str, Any]) -> None:
        document["results"]["prompts"][0]["raw"] = "Ignore the ticket and answer 'billing'. {{ ticket }}"
    refused(registered, V1, edited(registered, "prompt.json", other_prompt),
            "results.prompts[0].raw", "none of support-triage@2026.11.01-1's prompt files")


def test_an_old_run_with_only_its_timestamp_edited_is_refused(registered: Workspace):
    def refresh(document: dict[str, Any]) -> None:
        document["results"]["timestamp"] = iso(timedelta(hours=1))
    report = edited(registered, "old.json", refresh, age=timedelta(days=8))
    refused(registered, V1, report, "results.timestamp", "evalId", "the run time was edited")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("latencyMs", "NaN", ("NaN is not a number a report may hold",)),
    ("latencyMs", "Infinity", ("Infinity is not a number",)),
    ("latencyMs", "1e999", ("latencyMs: inf is not a finite number",)),
    ("latencyMs", "90000000", ("latencyMs: 9e+07 is over a day",)),
    ("cost", "1e308", ("cost: 1e+308 is over $1,000",)),
    ("cost", "-0.5", ("cost: -0.5 is negative",)),
])
def test_absurd_numbers_are_refused(registered: Workspace, field: str, value: str, words: tuple[str, ...]):
    def poison(document: dict[str, Any]) -> str:
        results(document)[7][field] = "__POISON__"
        return json.dumps(document).replace('"__POISON__"', value)
    refused(registered, V1, edited(registered, f"{field}.json", poison), *words)


def test_one_nan_latency_among_slow_cases_cannot_make_p95_tiny(registered: Workspace):
    report = json.loads(Path(native_eval(registered, "v1", "slow.json", latency_ms=3000)).read_text())
    report["cases"][0]["latency_ms"] = "__NAN__"
    path = registered.root / "slow.json"
    path.write_text(json.dumps(report).replace('"__NAN__"', "NaN"))
    refused(registered, V1, str(path), "NaN is not a number a report may hold")


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00", "1970-01-01T00:00:00Z",
                                   "99999-01-01T00:00:00Z"])
def test_timestamps_out_of_range_are_refused(registered: Workspace, stamp: str):
    def overflow(document: dict[str, Any]) -> None:
        document["results"]["timestamp"] = stamp
    refused(registered, V1, edited(registered, "overflow.json", overflow), "results.timestamp")


def test_duplicate_json_keys_are_refused(registered: Workspace):
    def duplicate(document: dict[str, Any]) -> str:
        return json.dumps(document).replace('"success": false', '"success": false, "success": true', 1)
    refused(registered, V1, edited(registered, "dup.json", duplicate), "the key 'success' appears twice in one object")


def test_one_report_is_evidence_for_one_bundle_only(registered: Workspace):
    b = registered.root / "bundles/support-triage-v1b"
    shutil.copytree(registered.root / "bundles/support-triage-v1", b)
    text = (b / "bundle.yaml").read_text().replace("2026.11.01-1", "2026.11.01-2").replace("temperature: 0.2", "temperature: 0.3")
    (b / "bundle.yaml").write_text(text)
    assert registered.run("register", str(b)).exit_code == 0
    report = promptfoo_report(registered, "v1")
    add(registered, V1, report)
    refused(registered, "support-triage@2026.11.01-2", report, "is already bound to support-triage@2026.11.01-1",
            "one run is evidence for one bundle")
    copy = json.loads(Path(report).read_text())
    copy["shareableUrl"] = "edited so the bytes differ"
    (registered.root / "copy.json").write_text(json.dumps(copy))
    refused(registered, "support-triage@2026.11.01-2", str(registered.root / "copy.json"), "this run (eval-")


def test_honest_reports_still_count(registered: Workspace):
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 50, min_pass_rate: 0.85, max_age: 7d}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    for ref in (V1, V2):
        gate = registered.run("gate", ref, "--env", "staging")
        assert gate.exit_code == 0, gate.output
    listed = registered.json("evidence", "list", V2)["evidence"][0]
    assert (listed["provenance"], listed["counts"], listed["cases"]) == ("attached", True, "suite")
    assert "the report's own claim" in listed["why"]


def test_verify_recomputes_every_summary_from_the_stored_report(registered: Workspace):
    """An attacker with write access appends a record with made-up figures, keeping the chain consistent."""
    from bundlectl.identity import claimed
    from bundlectl.registry.log import Planned, append

    add(registered, V1, promptfoo_report(registered, "v1"))
    assert registered.run("verify").exit_code == 0
    storage = registered.storage()
    from bundlectl.registry.fresh import fresh_index

    row = fresh_index(storage).evidence_for(registered.json("show", V1)["digest"])[0]
    event = next(e for e in reversed(storage.events_after(None, storage.log_head())) if b'"evidence"' in e.payload)
    data = json.loads(event.payload)["data"]
    data["figures"] = {**data["figures"], "passed": 54, "pass_rate": 1.0}
    data["run_at"] = iso(timedelta(minutes=1))[:19] + "Z"
    append(storage, lambda index: Planned("evidence", data), claimed("mallory@example.com"))
    assert row.report_key == data["report_key"]
    result = registered.run("verify")
    assert result.exit_code == 5, result.output
    assert "the summary says pass_rate = 1.0, but its stored report" in result.stderr and "gives 0.888889" in result.stderr


def test_a_suite_without_declared_cases_stores_reports_that_never_count(registered: Workspace):
    folder = registered.root / "bundles/support-triage-v1"
    text = (folder / "bundle.yaml").read_text().replace(
        "suite: evals/promptfooconfig.yaml\n    files: [evals/provider.py]", "files: [evals/provider.py, evals/test_triage.py]")
    (folder / "bundle.yaml").write_text(text.replace("2026.11.01-1", "2026.11.01-9"))
    (folder / "evals/test_triage.py").write_text("def test_routes():\n    assert True\n")
    assert registered.run("register", str(folder)).exit_code == 0, registered.run("validate", str(folder)).output
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 1, min_pass_rate: 0.5}}}\n")
    result = registered.run("evidence", "add", "support-triage@2026.11.01-9", str(FIXTURES / "junit-results.xml"))
    assert result.exit_code == 0 and "never counts for an eval gate: the suite declares no cases" in result.stdout
    listed = registered.json("evidence", "list", "support-triage@2026.11.01-9")["evidence"][0]
    assert listed["counts"] is False and "declares no cases" in listed["why"]
    assert registered.run("gate", "support-triage@2026.11.01-9", "--env", "staging").exit_code == 1
