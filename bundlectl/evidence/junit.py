"""JUnit XML as pytest, deepeval and most test runners write it; parsed with defusedxml (no entity tricks).

A testsuite property `bundle_digest` (pytest: `record_testsuite_property("bundle_digest",
os.environ["BUNDLECTL_BUNDLE_DIGEST"])`) says which bundle the run ran; it is checked when given."""

from __future__ import annotations

from bundlectl.errors import InvalidInput, Problem
from bundlectl.evidence import numbers
from bundlectl.evidence.report import CaseResult, Report
from bundlectl.evidence.timestamps import parse_run_time


def junit_case_id(classname: str | None, name: str | None) -> str:
    """A testcase's id in a suite's case list: `classname::name`."""
    return f"{classname or ''}::{name or ''}"


def parse_junit(data: bytes, source: str) -> Report:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data)
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise InvalidInput([Problem(source, f"is not valid XML: {exc}", line)]) from None
    except DefusedXmlException as exc:
        raise InvalidInput([Problem(source, f"uses forbidden XML features ({type(exc).__name__})")]) from None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite") if root.tag == "testsuites" else []
    if not suites:
        raise InvalidInput([Problem(source, f"is not JUnit XML (root element <{root.tag}>)")])
    times = [t for t in (parse_run_time(s.get("timestamp")) for s in suites) if t is not None]
    if not times:
        raise InvalidInput(
            [Problem(source, "has no testsuite timestamp with a time zone", field="testsuite@timestamp")],
            "freshness is judged by when the run happened; pytest --junitxml writes it",
        )
    named = {p.get("value") or "" for s in suites for p in s.findall("properties/property") if p.get("name") == "bundle_digest"}
    if len(named) > 1:
        raise InvalidInput(
            [Problem(source, f"names {len(named)} bundles it ran ({', '.join(sorted(named))})", field="testsuite property bundle_digest")]
        )
    cases = []
    for suite in suites:
        for case in suite.iter("testcase"):
            if case.find("skipped") is not None:
                continue
            passed = case.find("failure") is None and case.find("error") is None
            slice_name = None
            for prop in case.iter("property"):
                if prop.get("name") == "slice":
                    slice_name = prop.get("value") or None
            case_id = junit_case_id(case.get("classname"), case.get("name"))
            where = f"testcase {case_id!r} time"
            seconds = case.get("time")
            try:
                latency = numbers.latency_ms(float(seconds) * 1000, source, where) if seconds else None
            except ValueError:
                raise InvalidInput([Problem(source, f"{seconds!r} is not a number", field=where)]) from None
            cases.append(CaseResult(case_id, slice_name, passed, latency, where=f"testcase {case_id!r}"))
    if not cases:
        raise InvalidInput([Problem(source, "contains no test cases that ran")])
    run_at = numbers.run_time(min(times), source, "testsuite@timestamp")
    return Report("eval", "junit", run_at, cases, tool=suites[0].get("name") or root.get("name"), bundle_digest=next(iter(named), None))
