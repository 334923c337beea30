"""promptfoo results.json (output format version 3, as promptfoo 0.115 writes it)."""

from __future__ import annotations

import json
from typing import Any

from bundlectl.errors import InvalidInput, Problem
from bundlectl.evidence.report import CaseResult, Report
from bundlectl.evidence.timestamps import parse_run_time


def parse_promptfoo(data: bytes, source: str) -> Report:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput([Problem(source, f"is not valid JSON: {exc}")]) from None
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, dict) or not isinstance(results.get("results"), list):
        raise InvalidInput([Problem(source, "is not a promptfoo results.json (no results.results list)", field="results")],
                           "write it with `promptfoo eval -o results.json`")
    if results.get("version") not in (2, 3):
        found = results.get("version")
        raise InvalidInput([Problem(source, f"promptfoo output version {found!r} is not supported (expected 3)", field="results.version")])
    run_at = parse_run_time(results.get("timestamp"))
    if run_at is None:
        raise InvalidInput([Problem(source, "has no valid run time (results.timestamp)", field="results.timestamp")],
                           "freshness is judged by when the run happened, so the report must say")
    config = document.get("config")
    tests = config.get("tests") if isinstance(config, dict) else None
    if not isinstance(tests, list):
        raise InvalidInput([Problem(source, "does not carry the suite it ran (config.tests)", field="config.tests")])
    cases = [_case(item, index, source) for index, item in enumerate(results["results"])]
    if not cases:
        raise InvalidInput([Problem(source, "contains no test results", field="results.results")])
    return Report("eval", "promptfoo", run_at, cases, suite_tests=tests)


def _case(item: Any, index: int, source: str) -> CaseResult:
    where = f"results.results[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
        raise InvalidInput([Problem(source, "has no boolean success", field=f"{where}.success")])
    test_case: dict[str, Any] = item["testCase"] if isinstance(item.get("testCase"), dict) else {}
    metadata = test_case.get("metadata") or item.get("metadata") or {}
    name = test_case.get("description") or f"test-{item.get('testIdx', index)}"
    latency = item.get("latencyMs")
    cost = item.get("cost")
    for field_name, value in (("latencyMs", latency), ("cost", cost)):
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
            raise InvalidInput([Problem(source, f"{field_name} must be a non-negative number", field=f"{where}.{field_name}")])
    return CaseResult(str(name), str(metadata.get("slice", "default")) if isinstance(metadata, dict) else "default",
                      item["success"], latency, cost)
