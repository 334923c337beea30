"""docs/design.md: Evidence, as an attacker and a careless user would try it: every report here is refused (exit 1, one or
two lines naming the case, field or prompt), and nothing is stored, neither the record nor the raw bytes."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import FIXTURES, add, iso, native_eval, native_report, promptfoo_report, set_policy, suite_cases


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

    refused(registered, V1, edited(registered, "repeated.json", repeat), "appears 4 times", "a run reports each case of the suite once")


def test_failing_cases_renamed_and_marked_passing_are_refused(registered: Workspace):
    def rename(document: dict[str, Any], drop_index: bool = False) -> None:
        for n, result in enumerate(r for r in results(document) if not r["success"]):
            result["success"], result["testCase"]["description"] = True, f"made-up-{n}"
            if drop_index:
                del result["testIdx"]

    refused(registered, V1, edited(registered, "renamed.json", rename), "is case 'made-up-0', but its testIdx points at")
    refused(
        registered,
        V1,
        edited(registered, "renamed2.json", lambda d: rename(d, True)),
        "case 'made-up-0' is not in the suite's cases (evals/promptfooconfig.yaml)",
    )


def test_failing_cases_dropped_are_refused(registered: Workspace):
    def drop(document: dict[str, Any]) -> None:
        document["results"]["results"] = [r for r in results(document) if r["success"]]

    refused(registered, V1, edited(registered, "dropped.json", drop), "is missing from the report", "and 11 more")


def junit(ws: Workspace, name: str, cases: list[str], failed: tuple[str, ...] = ()) -> str:
    body = "".join(
        f'<testcase classname="{c.split("::")[0]}" name="{c.split("::")[1]}" time="0.2">'
        + ("<failure message='no'/>" if c in failed else "")
        + "</testcase>"
        for c in cases
    )
    path = ws.root / name
    path.write_text(f'<testsuites><testsuite name="pytest" timestamp="{iso(timedelta(hours=1))}">{body}</testsuite></testsuites>')
    return str(path)


def test_unrelated_junit_report_is_refused_for_a_promptfoo_suite(registered: Workspace):
    report = junit(registered, "unrelated.xml", [f"test_misc::test_{n}" for n in range(90)])
    refused(registered, V1, report, "'test_misc::test_0' is not in the suite's cases (evals/promptfooconfig.yaml)")


def test_unrelated_native_report_is_refused(registered: Workspace):
    report = registered.root / "native.json"
    report.write_text(
        json.dumps(
            {
                "format": "bundlectl/evidence-v1",
                "kind": "eval",
                "run_at": iso(timedelta(hours=1)),
                "cases": [{"id": f"c{n}", "passed": True} for n in range(90)],
            }
        )
    )
    refused(registered, V1, str(report), "case 'c0' is not in the suite's cases")


def test_a_genuine_run_of_another_bundle_with_the_same_suite_is_refused(registered: Workspace):
    """B has another system prompt and another model snapshot, but the very same evals component as A (v1): A's run
    shows the system prompt it ran, which is not B's."""
    b = registered.root / "bundles/support-triage-b"
    shutil.copytree(registered.root / "bundles/support-triage-v1", b)
    (b / "prompts/system.md").write_text("You are a different triage assistant.\n")
    text = (b / "bundle.yaml").read_text().replace("2026.11.01-1", "2026.12.01-1").replace("gpt-4o-2024-08-06", "gpt-4o-2024-11-20")
    (b / "bundle.yaml").write_text(text)
    assert registered.run("register", str(b)).exit_code == 0
    assert (
        registered.json("show", V1)["components"]["evals"]["digest"]
        == registered.json("show", "support-triage@2026.12.01-1")["components"]["evals"]["digest"]
    )
    refused(
        registered,
        "support-triage@2026.12.01-1",
        promptfoo_report(registered, "v1"),
        "results.prompts[1].raw: ran the prompt \"You are the triage assistant for Acme's",
        "which is none of support-triage@2026.12.01-1's prompt files",
    )


def test_a_report_whose_prompt_is_not_a_prompt_file_of_the_bundle_is_refused(registered: Workspace):
    def other_prompt(document: dict[str, Any]) -> None:
        document["results"]["prompts"][0]["raw"] = "Ignore the ticket and answer 'billing'. {{ ticket }}"

    refused(
        registered,
        V1,
        edited(registered, "prompt.json", other_prompt),
        "results.prompts[0].raw",
        "none of support-triage@2026.11.01-1's prompt files",
    )


def test_an_old_run_with_only_its_timestamp_edited_is_refused(registered: Workspace):
    def refresh(document: dict[str, Any]) -> None:
        document["results"]["timestamp"] = iso(timedelta(hours=1))

    report = edited(registered, "old.json", refresh, age=timedelta(days=8))
    refused(registered, V1, report, "results.timestamp", "evalId", "the run time was edited")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("latencyMs", "NaN", ("NaN is not a number a report may hold",)),
        ("latencyMs", "Infinity", ("Infinity is not a number",)),
        ("latencyMs", "1e999", ("latencyMs: inf is not a finite number",)),
        ("latencyMs", "90000000", ("latencyMs: 90000000 is over a day",)),
        ("cost", "1e308", ("cost: 1e+308 is over $1,000",)),
        ("cost", "-0.5", ("cost: -0.5 is negative",)),
    ],
)
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


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00", "1970-01-01T00:00:00Z", "99999-01-01T00:00:00Z"])
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
    refused(
        registered, "support-triage@2026.11.01-2", report, "is already bound to support-triage@2026.11.01-1", "one run is evidence for one bundle"
    )
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
    from bundlectl.registry.read import index_at_head

    add(registered, V1, promptfoo_report(registered, "v1"))
    assert registered.run("verify").exit_code == 0
    row = index_at_head(registered.storage()).evidence_for(registered.json("show", V1)["digest"])[0]
    data = last_evidence_data(registered)
    data["figures"] = {**data["figures"], "passed": 54, "pass_rate": 1.0}
    data["run_at"] = iso(timedelta(minutes=1))[:19] + "Z"
    append_behind_bundlectl(registered, data)
    assert row.report_key == data["report_key"]
    tampered(registered, "the summary says pass_rate = 1.0, but its stored report", "gives 0.888889")


def test_a_suite_without_declared_cases_stores_reports_that_never_count(registered: Workspace):
    folder = registered.root / "bundles/support-triage-v1"
    text = (
        (folder / "bundle.yaml")
        .read_text()
        .replace("suite: evals/promptfooconfig.yaml\n    files: [evals/provider.py]", "files: [evals/provider.py, evals/test_triage.py]")
    )
    (folder / "bundle.yaml").write_text(text.replace("2026.11.01-1", "2026.11.01-9"))
    (folder / "evals/test_triage.py").write_text("def test_routes():\n    assert True\n")
    assert registered.run("register", str(folder)).exit_code == 0, registered.run("validate", str(folder)).output
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 1, min_pass_rate: 0.5}}}\n")
    result = registered.run("evidence", "add", "support-triage@2026.11.01-9", str(FIXTURES / "junit-results.xml"))
    assert result.exit_code == 0 and "never counts for an eval gate: the suite declares no cases" in result.stdout
    listed = registered.json("evidence", "list", "support-triage@2026.11.01-9")["evidence"][0]
    assert listed["counts"] is False and "declares no cases" in listed["why"]
    assert registered.run("gate", "support-triage@2026.11.01-9", "--env", "staging").exit_code == 1


# --- the red-team review of this issue (FINDINGS F2–F16): each refused with exit 1, nothing stored ---------------


def test_an_attached_report_whose_default_test_differs_from_the_suite_is_refused(git_registered: Workspace):
    """F2/F3b: `defaultTest` (a threshold, a transform) changes every case; only config.tests used to be compared."""

    def loosen(document: dict[str, Any]) -> None:
        document["config"]["defaultTest"]["threshold"] = 0.5
        document["config"]["defaultTest"]["options"] = {"transform": "output.replace('technical', 'billing')"}

    refused(
        git_registered,
        V1,
        edited(git_registered, "default-test.json", loosen),
        "config.defaultTest.options: differs from the suite's (evals/promptfooconfig.yaml)",
    )


def test_a_repeated_prompt_variant_cannot_inflate_the_run(git_registered: Workspace):
    """F4: a copy of results.prompts[0] whose 54 results all pass made 48/54 (88.9%) into 102/108 (94.4%)."""

    def repeat(document: dict[str, Any]) -> None:
        document["results"]["prompts"].append(dict(document["results"]["prompts"][0]))
        results(document).extend([{**result, "promptIdx": 2, "success": True} for result in results(document) if result["promptIdx"] == 0])

    refused(
        git_registered,
        V1,
        edited(git_registered, "twice.json", repeat),
        "results.prompts[2]: repeats results.prompts[0]: the same prompt text with the same provider",
    )


def test_a_result_run_by_another_provider_than_its_prompt_is_refused(git_registered: Workspace):
    def swap(document: dict[str, Any]) -> None:
        results(document)[9]["provider"] = {"id": "openai:gpt-4o-2024-08-06", "label": "triage-gpt-4o-2024-08-06-x"}

    refused(git_registered, V1, edited(git_registered, "mixed.json", swap), "results.results[9].provider: was run by provider")


@pytest.mark.parametrize(
    ("provider", "words"),
    [
        (
            {"id": "openai:chat:gpt-4o-mini", "label": "gpt-4o-2024-08-06"},
            "openai:chat:gpt-4o-mini (label 'gpt-4o-2024-08-06') is not support-triage@2026.11.01-1's model snapshot",
        ),
        ("openai:gpt-4o-2024-08-06-fake", "its id must end with :gpt-4o-2024-08-06"),
        ({"id": "exec:python3 /tmp/canned.py", "label": "triage-gpt-4o-2024-08-06"}, "runs /tmp/canned.py, which is not a file"),
        (
            {"id": "file:///tmp/elsewhere/evals/provider.py", "label": "triage-gpt-4o-2024-08-06"},
            "runs /tmp/elsewhere/evals/provider.py, which is not a file of the evals component",
        ),
        (None, "results.results[0].provider: does not say which provider ran it"),
    ],
    ids=["label-only", "substring", "exec-stand-in", "absolute-file", "no-provider"],
)
def test_a_provider_that_is_not_the_bundles_model_is_refused(git_registered: Workspace, provider: Any, words: str):
    """F7: the model check read free-text labels and substrings, let exec: and absolute files through, and skipped
    itself when the report named no provider."""

    def swap(document: dict[str, Any]) -> None:
        document["config"]["providers"] = [] if provider is None else [provider]
        for prompt in document["results"]["prompts"] if provider is not None else []:
            prompt["provider"] = provider if isinstance(provider, str) else provider["label"]
        for result in results(document):
            if provider is None:
                del result["provider"]
            else:
                result["provider"] = provider

    refused(git_registered, V1, edited(git_registered, "provider.json", swap), words)


def test_an_eval_reports_own_metrics_cannot_contradict_its_cases(git_registered: Workspace):
    """F9: 54 cases at 3,000 ms beside `metrics: {latency_p95_ms: 1}` stored p50 3000 ms and p95 1 ms."""
    document = json.loads(Path(native_eval(git_registered, "v1", "metrics.json", latency_ms=3000, cost_usd=0.5)).read_text())
    document["metrics"] = {"latency_p95_ms": 1, "cost_per_task_usd": 0.0001}
    (git_registered.root / "metrics.json").write_text(json.dumps(document))
    refused(
        git_registered,
        V1,
        str(git_registered.root / "metrics.json"),
        "metrics.latency_p95_ms: states latency_p95_ms beside cases that measure latency_ms",
    )


def test_another_bundles_run_converted_to_native_is_refused(git_registered: Workspace):
    """F10: v1's promptfoo run rewritten as a native report with no bundle_digest bound to B (another prompt and
    model, the same suite); a report of a promptfoo suite in another format must name the bundle it ran."""
    ws = git_registered
    run = json.loads(Path(promptfoo_report(ws, "v1")).read_text())
    cases = [
        {"id": r["testCase"]["description"], "passed": r["success"], "latency_ms": r["latencyMs"], "cost_usd": r["cost"]}
        for r in run["results"]["results"]
        if r["promptIdx"] == 0  # a native report names each case once
    ]
    laundered = native_report(ws, "eval", "laundered.json", cases=cases)
    refused(
        ws,
        V2.replace("2026.11.22-1", "2026.11.01-1"),
        laundered,
        "bundle_digest: is a native report of support-triage@2026.11.01-1's promptfoo suite that does not say which bundle it ran",
    )
    junit_copy = junit(ws, "laundered.xml", [f"x::{c['id']}" for c in cases])
    refused(ws, V1, junit_copy, "is not in the suite's cases")


def test_one_native_run_is_one_run_whatever_its_bytes(git_registered: Workspace):
    """F10: JUnit and native reports have no run id, so "one run, one bundle" keyed on their bytes: reformatted, with
    a space added and another bundle_digest written in, the same run bound to a second bundle with the same suite.
    Their run is now what they measured."""
    ws = git_registered
    other = ws.root / "bundles/support-triage-v1b"
    shutil.copytree(ws.root / "bundles/support-triage-v1", other)
    text = (other / "bundle.yaml").read_text().replace("2026.11.01-1", "2026.11.01-2").replace("temperature: 0.2", "temperature: 0.3")
    (other / "bundle.yaml").write_text(text)
    assert ws.run("register", str(other)).exit_code == 0
    add(ws, V1, native_eval(ws, "v1", "run.json"))
    document = json.loads((ws.root / "run.json").read_text())
    document["bundle_digest"] = ws.json("show", "support-triage@2026.11.01-2")["digest"]
    (ws.root / "relabelled.json").write_text(json.dumps(document, indent=1) + " ")
    refused(
        ws, "support-triage@2026.11.01-2", str(ws.root / "relabelled.json"), "this run (native-", "is already bound to support-triage@2026.11.01-1"
    )


def test_an_old_run_with_its_eval_id_dropped_and_its_timestamp_edited_is_refused(git_registered: Workspace):
    """F12: the evalId cross-check ran only when evalId was present; every promptfoo writing version 3 writes one."""

    def refresh(document: dict[str, Any]) -> None:
        del document["evalId"]
        document["results"]["timestamp"] = iso(timedelta(hours=1))

    refused(
        git_registered,
        V1,
        edited(git_registered, "old.json", refresh, age=timedelta(days=8)),
        "evalId: has no evalId (eval-XYZ-<run time>), so its run time cannot be checked",
    )

    def mangle(document: dict[str, Any]) -> None:
        document["evalId"] = "eval-1"

    refused(git_registered, V1, edited(git_registered, "mangled.json", mangle), "has an evalId 'eval-1' that promptfoo does not write")


@pytest.mark.parametrize("field", ["latencyMs", "cost"])
def test_a_huge_integer_is_refused_not_a_crash(git_registered: Workspace, field: str):
    """F13: `1` followed by 4,000 zeros is valid JSON; formatting it with :g crashed (exit 70, OverflowError)."""

    def huge(document: dict[str, Any]) -> str:
        results(document)[3][field] = "__HUGE__"
        return json.dumps(document).replace('"__HUGE__"', "1" + "0" * 4000)

    refused(
        git_registered,
        V1,
        edited(git_registered, f"huge-{field}.json", huge),
        f"results.results[3].{field}: 1.000e+4000 (an integer of 4001 digits) is over",
    )


@pytest.mark.parametrize(("field", "value"), [("latency_ms", True), ("passed", "yes"), ("cost_usd", "0.1")])
def test_native_reports_are_read_strictly(git_registered: Workspace, field: str, value: Any):
    """F14: pydantic's lax mode read `true` as 1 ms, "yes" as passed and "0.1" as $0.10."""
    document = json.loads(Path(native_eval(git_registered, "v1", "lax.json")).read_text())
    document["cases"][2][field] = value
    (git_registered.root / "lax.json").write_text(json.dumps(document))
    refused(git_registered, V1, str(git_registered.root / "lax.json"), f"cases.2.{field}: Input should be a valid")


def test_an_oversized_report_is_refused_before_it_is_read(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    """F16: a sparse file of 64 MiB + 1 byte was read whole, then refused; a 50 GB one would exhaust memory first."""
    from bundlectl.evidence.importers import MAX_REPORT_BYTES

    ws = git_registered
    big = ws.root / "big.json"
    with big.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_REPORT_BYTES + 1)
    real = Path.read_bytes

    def guarded(self: Path) -> bytes:
        assert self.stat().st_size <= MAX_REPORT_BYTES, f"read {self} ({self.stat().st_size} bytes) before the size check"
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", guarded)
    refused(ws, V1, str(big), f"is {MAX_REPORT_BYTES + 1} bytes, over the {MAX_REPORT_BYTES}-byte report limit")
    head = ws.log_head()
    grow = f"handle = open('big.json', 'wb'); handle.truncate({MAX_REPORT_BYTES + 1}); handle.close()"
    result = ws.run("eval", V1, "--report", "big.json", "--", sys.executable, "-c", grow)
    assert result.exit_code == 1 and "over the 67108864-byte report limit" in result.stderr and ws.log_head() == head
    result = ws.run("evals", "cases", str(big))
    assert result.exit_code == 1 and "report limit" in result.stderr


# --- verify rebuilds every evidence record from its stored report (F5, F6) ----------------------------------------


def last_evidence_data(ws: Workspace) -> dict[str, Any]:
    storage = ws.storage()
    event = next(e for e in reversed(storage.events_after(None, storage.log_head())) if b'"evidence"' in e.payload)
    data: dict[str, Any] = json.loads(event.payload)["data"]
    return data


def append_behind_bundlectl(ws: Workspace, data: dict[str, Any]) -> None:
    """What an attacker with write access does: append an evidence record, keeping the chain consistent."""
    from bundlectl.registry.log import Planned, append
    from bundlectl.trust.identity import claimed

    append(ws.storage(), lambda index: Planned("evidence", data), claimed("mallory@example.com"))


def tampered(ws: Workspace, *words: str) -> None:
    result = ws.run("verify")
    assert result.exit_code == 5, result.output
    for word in words:
        assert word in result.stderr, result.stderr


def test_verify_catches_an_edited_run_time(git_registered: Workspace):
    """F5: an 8-day-old attached run re-appended with run_at = now (figures and report untouched) passed verify, and
    the gate called it fresh."""
    ws = git_registered
    set_policy(ws, "environments:\n  production: {gates: {eval: {min_cases: 50, min_pass_rate: 0.85, max_age: 7d}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1", timedelta(days=8)))
    assert ws.run("gate", V1, "--env", "production").exit_code == 1  # stale
    assert ws.run("verify").exit_code == 0
    data = last_evidence_data(ws)
    data["run_at"] = iso(timedelta(minutes=5))[:19] + "Z"
    append_behind_bundlectl(ws, data)
    tampered(ws, "the record says run_at = ", "the run time was edited")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("kind", "load", ("the record says kind = 'load'",)),
        ("evals_digest", "sha256:" + "0" * 64, ("evals_digest",)),
        ("cases", "undeclared", ("the record says cases = 'undeclared'", "the case matching was edited")),
        ("provenance.tool", "pytest", ("provenance.tool",)),
        ("provenance.run_id", "eval-abc-2026-11-22T16:01:37", ("provenance.run_id",)),
    ],
)
def test_verify_rederives_every_field_of_an_attached_record(git_registered: Workspace, field: str, value: Any, words: tuple[str, ...]):
    ws = git_registered
    add(ws, V1, promptfoo_report(ws, "v1"))
    data = last_evidence_data(ws)
    target, key = (data["provenance"], field.split(".")[1]) if "." in field else (data, field)
    target[key] = value
    append_behind_bundlectl(ws, data)
    tampered(ws, *words)


@pytest.mark.parametrize("change", ["harness", "report_time", "run_at", "all times"])
def test_verify_rederives_a_run_and_checks_its_times(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch, change: str):
    """A run's report time, and whether it ran the declared harness, come from the report and the bundle; the times
    bundlectl measured must hold the report's own: a run moved a day later as a whole is caught too."""
    from tests.cli.test_eval import NATIVE_HARNESS

    ws = git_registered
    monkeypatch.setenv("CASES", json.dumps(suite_cases("v1")))
    assert ws.run("eval", V1, "--report", "report.json", "--", sys.executable, "-c", NATIVE_HARNESS).exit_code == 0
    assert ws.run("verify").exit_code == 0
    data = last_evidence_data(ws)
    later = iso(timedelta(days=-1))[:19] + "Z"
    if change == "harness":
        data["provenance"]["harness"] = True
    elif change == "report_time":
        data["provenance"]["report_time"] = later
    elif change == "run_at":
        data["run_at"] = later
    else:
        data["provenance"].update(started_at=later, ended_at=later)
        data["run_at"] = later
    append_behind_bundlectl(ws, data)
    tampered(
        ws,
        *{
            "harness": ("provenance.harness",),
            "report_time": ("provenance.report_time",),
            "run_at": ("the run time was edited",),
            "all times": ("outside the run bundlectl measured", "the run times were edited"),
        }[change],
    )


def legacy(data: dict[str, Any]) -> dict[str, Any]:
    """An evidence record as bundlectl wrote it before reports proved themselves: no cases, no provenance."""
    return {k: v for k, v in data.items() if k not in ("cases", "provenance")}


def test_a_record_without_provenance_after_records_with_it_is_tampering(git_registered: Workspace):
    """F6: a record shaped like a pre-issue-11 one skipped binding in verify and counted in the gate, so v2's report
    (another suite, refused for v1) passed both."""
    from bundlectl.evidence.importers import import_report
    from bundlectl.evidence.report import figures
    from bundlectl.registry.objects import report_key

    ws = git_registered
    set_policy(ws, "environments:\n  production: {gates: {eval: {min_cases: 50, min_pass_rate: 0.95, max_age: 7d}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    other_suite = Path(promptfoo_report(ws, "v2"))
    refused(ws, V1, str(other_suite), "ran another suite")
    raw = other_suite.read_bytes()
    ws.storage().put_object(report_key(raw), raw)
    forged = legacy(last_evidence_data(ws))
    forged.update(
        report_key=report_key(raw), file="v2.json", figures=figures(import_report(raw, "v2.json")), run_at=iso(timedelta(minutes=2))[:19] + "Z"
    )
    append_behind_bundlectl(ws, forged)
    tampered(ws, "it has no provenance, but bundlectl has written provenance with every record since")
    forged_row = next(e for e in ws.json("evidence", "list", V1, "--env", "production")["evidence"] if e["report"] == forged["report_key"])
    assert forged_row["counts"] is False and "recorded before reports were matched case by case" in forged_row["why"]
    assert ws.run("gate", V1, "--env", "production").exit_code == 1


def test_records_from_before_reports_proved_themselves_verify_never_count_and_can_be_bound_again(git_registered: Workspace):
    """F6: a registry written by an older bundlectl (records without provenance, first in the log) still verifies;
    those records never satisfy an eval gate until `evidence add` binds their report again."""
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 50, min_pass_rate: 0.85, max_age: 7d}}}\n")
    report = promptfoo_report(ws, "v1")
    from bundlectl.evidence.importers import import_report
    from bundlectl.evidence.report import figures
    from bundlectl.registry.objects import report_key

    raw = Path(report).read_bytes()
    ws.storage().put_object(report_key(raw), raw)
    old = {
        "name": "support-triage",
        "version": "2026.11.01-1",
        "digest": ws.json("show", V1)["digest"],
        "evals_digest": ws.json("show", V1)["components"]["evals"]["digest"],
        "kind": "eval",
        "source": "promptfoo",
        "run_at": json.loads(raw)["results"]["timestamp"][:19] + "Z",
        "figures": figures(import_report(raw, "r.json")),
        "report_key": report_key(raw),
        "file": Path(report).name,
    }
    append_behind_bundlectl(ws, old)  # as the older bundlectl appended it
    assert ws.run("verify").exit_code == 0
    listed = ws.json("evidence", "list", V1, "--env", "staging")["evidence"][0]
    assert listed["counts"] is False and "bind its report again" in listed["why"]
    assert ws.run("gate", V1, "--env", "staging").exit_code == 1
    add(ws, V1, report)  # bound again: a new record, with its cases matched and its provenance
    listed = ws.json("evidence", "list", V1, "--env", "staging")["evidence"]
    assert len(listed) == 2 and {e["counts"] for e in listed} == {True, False}
    assert ws.run("gate", V1, "--env", "staging").exit_code == 0
    assert ws.run("verify").exit_code == 0
    edited_old = {**old, "figures": {**old["figures"], "passed": 54}}
    append_behind_bundlectl(ws, edited_old)
    tampered(ws, "it has no provenance")


def test_a_junit_report_naming_another_bundle_is_refused(git_registered: Workspace):
    """F10: a JUnit report may say which bundle it ran (testsuite property bundle_digest, written by pytest's
    record_testsuite_property from BUNDLECTL_BUNDLE_DIGEST); another bundle's is refused, this one's binds."""
    ws = git_registered
    ids = [f"evals.test_triage::{case}" for case, _ in suite_cases("v1")]
    folder = ws.root / "bundles/support-triage-v1"
    (folder / "evals/cases.yaml").write_text("".join(f"- {{id: {json.dumps(i)}}}\n" for i in ids))
    text = (folder / "bundle.yaml").read_text().replace("2026.11.01-1", "2026.11.01-8")
    (folder / "bundle.yaml").write_text(text.replace("files: [evals/provider.py]", "files: [evals/provider.py]\n    cases: evals/cases.yaml"))
    assert ws.run("register", str(folder)).exit_code == 0
    body = "".join(f'<testcase classname="evals.test_triage" name="{c}" time="0.2"/>' for c, _ in suite_cases("v1"))

    def named(name: str, *digests: str) -> str:
        properties = "".join(f'<property name="bundle_digest" value="{d}"/>' for d in digests)
        path = ws.root / name
        path.write_text(
            f'<testsuites><testsuite name="pytest" timestamp="{iso(timedelta(hours=1))}">'
            f"<properties>{properties}</properties>{body}</testsuite></testsuites>"
        )
        return str(path)

    ours, other = ws.json("show", "support-triage@2026.11.01-8")["digest"], ws.json("show", V1)["digest"]
    refused(ws, "support-triage@2026.11.01-8", named("other.xml", other), "bundle_digest: says it ran bundle")
    refused(ws, "support-triage@2026.11.01-8", named("two.xml", ours, other), "names 2 bundles it ran")
    add(ws, "support-triage@2026.11.01-8", named("ours.xml", ours))
