import json

import pytest

from bundlectl.errors import InvalidInput, UsageProblem
from bundlectl.evidence.importers import import_report
from bundlectl.evidence.report import figures, percentile
from tests.helpers import FIXTURES


def test_promptfoo_fixture():
    report = import_report((FIXTURES / "promptfoo-results.json").read_bytes(), "results.json")
    assert (report.source, report.kind) == ("promptfoo", "eval")
    assert report.run_at.isoformat() == "2026-11-22T14:42:40.305000+00:00"
    f = figures(report)
    assert (f["cases"], f["passed"]) == (6, 5)
    assert f["slices"]["gold"] == {"cases": 3, "passed": 2, "pass_rate": 0.666667}
    assert f["slices"]["refusal"]["pass_rate"] == 1.0
    assert (f["latency_p50_ms"], f["latency_p95_ms"], f["cost_per_task_usd"]) == (631, 686, 0.00021)
    assert len(report.suite_tests) == 6


def test_junit_fixture():
    report = import_report((FIXTURES / "junit-results.xml").read_bytes(), "junit.xml")
    assert report.source == "junit" and report.run_at.isoformat().startswith("2026-11-22T14:42:47")
    f = figures(report)
    assert (f["cases"], f["passed"]) == (6, 5)
    failed = [c.id for c in report.cases if not c.passed]
    assert failed == ["test_faq::test_known_gap"]


def test_native_report():
    data = json.dumps(
        {"format": "bundlectl/evidence-v1", "kind": "load", "run_at": "2026-11-20T10:00:00Z", "metrics": {"latency_p95_ms": 812.5, "requests": 5000}}
    ).encode()
    report = import_report(data, "load.json")
    assert report.kind == "load" and figures(report) == {"latency_p95_ms": 812.5, "requests": 5000.0}


def test_percentile_is_nearest_rank():
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95) == 10
    assert percentile([5.0], 0.5) == 5.0 and percentile([], 0.5) is None


def fails(data: bytes, fmt: str = "auto") -> str:
    with pytest.raises(InvalidInput) as err:
        import_report(data, "r.json", fmt)
    return str(err.value.problems[0])


def promptfoo(**changes) -> bytes:
    document = json.loads((FIXTURES / "promptfoo-results.json").read_text())
    for path, value in changes.items():
        target = document
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        target[keys[-1]] = value
    return json.dumps(document).encode()


def test_malformed_promptfoo_reports():
    assert "no valid run time" in fails(promptfoo(**{"results.timestamp": "yesterday"}))
    assert "no boolean success" in fails(promptfoo(**{"results.results.2.success": "yes"}))
    assert "results.results[2].success" in fails(promptfoo(**{"results.results.2.success": None}))
    assert "results.results[0].latencyMs: -1 is negative" in fails(promptfoo(**{"results.results.0.latencyMs": -1}))
    assert "output version 1" in fails(promptfoo(**{"results.version": 1}))
    assert "does not carry the suite" in fails(promptfoo(**{"config.tests": "file://tests.csv"}))
    assert "is not a promptfoo results.json" in fails(b'{"results": [], "config": {}}', "promptfoo")
    assert "is not valid JSON" in fails(b'{"results": ', "promptfoo")


def test_malformed_junit_reports():
    assert "is not valid XML" in fails(b"<testsuites><testsuite>", "junit")
    assert "no testsuite timestamp" in fails(b'<testsuite name="x"><testcase name="a"/></testsuite>')
    assert "is not JUnit XML" in fails(b"<html/>")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<testsuite timestamp="2026-11-22T00:00:00+00:00"><testcase name="&lol2;"/></testsuite>'
    )
    assert "forbidden XML features" in fails(bomb)


def test_malformed_native_reports():
    base = {"format": "bundlectl/evidence-v1", "kind": "eval", "run_at": "2026-11-20T10:00:00Z"}
    assert "an eval report needs cases" in fails(json.dumps(base).encode())
    naive = {**base, "run_at": "2026-11-20T10:00:00", "cases": [{"id": "a", "passed": True}]}
    assert "run_at must be an RFC 3339 time with a time zone" in fails(json.dumps(naive).encode())
    assert "kind" in fails(json.dumps({**base, "kind": "vibes"}).encode())


def test_unknown_format():
    assert "is not a report bundlectl can read" in fails(b"hello")
    with pytest.raises(UsageProblem):
        import_report(b"{}", "r.json", "csv")
