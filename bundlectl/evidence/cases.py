"""Case by case (docs/design.md: Evidence): every case the suite declares appears in the report exactly once, and no other.

promptfoo reports are matched against the tests of the bundle's promptfoo suite (by `metadata.id`, else
`description`); JUnit and native reports against the case list the `evals` component declares
(`cases:`), or, failing that, against its promptfoo tests. Slices come from the declaration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

from bundlectl.bundle.content.case_list import DeclaredCase, parse_case_list
from bundlectl.bundle.content.documents import parse_document
from bundlectl.bundle.content.promptfoo import case_id, case_slice
from bundlectl.bundle.record import ComponentRecord
from bundlectl.errors import InvalidInput, Problem, Refused
from bundlectl.evidence.report import CaseResult, Report

Reader = Callable[[str], bytes]


class CaseList(NamedTuple):
    origin: str  # "suite": the promptfoo suite's tests; "cases": the component's declared case list
    path: str  # the file that declares them
    cases: list[DeclaredCase]


def promptfoo_suite(evals: ComponentRecord, read: Reader) -> tuple[str, dict[str, Any]] | None:
    """The evals component's suite when it is a promptfoo config listing its tests inline."""
    path = evals.fields.get("suite")
    if evals.absent or not path or path not in evals.files or not path.endswith((".yaml", ".yml", ".json")):
        return None
    suite = parse_document(read(path), path)
    if not isinstance(suite, dict) or not isinstance(suite.get("tests"), list):
        return None
    return path, suite


def suite_case_list(path: str, suite: dict[str, Any]) -> CaseList:
    cases = []
    for index, test in enumerate(suite["tests"]):
        name = case_id(test) if isinstance(test, dict) else None
        if name is None:
            raise Refused(
                f"test {index + 1} of the suite {path} has no description or metadata.id, so reports cannot be matched to it case by case",
                "give every test a unique description",
            )
        cases.append(DeclaredCase(name, case_slice(test)))
    duplicate = next((name for name, n in Counter(c.id for c in cases).items() if n > 1), None)
    if duplicate is not None:
        raise Refused(
            f"the suite {path} names case {duplicate!r} twice, so reports cannot be matched to it case by case",
            "give every test a unique description",
        )
    return CaseList("suite", path, cases)


def declared_cases(evals: ComponentRecord, read: Reader, report_source: str, suite: tuple[str, dict[str, Any]] | None) -> CaseList | None:
    """The cases a report in `report_source` format must hold (`suite`: the promptfoo suite, if it is one);
    None when the suite declares none."""
    listed = evals.fields.get("cases")
    if report_source != "promptfoo" and listed and not evals.absent:
        return CaseList("cases", listed, parse_case_list(read(listed), listed))
    return suite_case_list(*suite) if suite else None


def match_cases(report: Report, declared: CaseList, label: str) -> list[CaseResult]:
    """The report's cases, each matched to one declared case (its slice taken from there); refuses any other shape."""
    expected = {case.id: case for case in declared.cases}
    seen: dict[tuple[str, int], CaseResult] = {}
    matched: list[CaseResult] = []
    for case in report.cases:
        want = expected.get(case.id)
        if want is None:
            raise _refuse(label, case, f"case {case.id!r} is not in the suite's cases ({declared.path})")
        if not 0 <= case.variant < report.variants:
            raise _refuse(label, case, f"case {case.id!r} names prompt {case.variant}, but the run has {report.variants} (results.prompts)")
        key = (case.id, case.variant)
        if key in seen:
            times = sum(1 for c in report.cases if (c.id, c.variant) == key)
            raise _refuse(
                label, case, f"case {case.id!r} appears {times} times (first at {seen[key].where}); a run reports each case of the suite once"
            )
        if want.slice is not None and case.slice is not None and case.slice != want.slice:
            raise _refuse(label, case, f"case {case.id!r} is in slice {case.slice!r} here but {want.slice!r} in {declared.path}")
        seen[key] = case
        matched.append(case if want.slice is None or case.slice == want.slice else replace(case, slice=want.slice))
    if len(seen) < len(expected) * report.variants:
        missing = next(c.id for c in declared.cases for v in range(report.variants) if (c.id, v) not in seen)
        absent = len(expected) * report.variants - len(seen)
        raise InvalidInput(
            [
                Problem(
                    label,
                    f"case {missing!r} of the suite ({declared.path}) is missing from the report"
                    + (f", and {absent - 1} more" if absent > 1 else ""),
                )
            ],
            "a report counts only when it ran every case of the bundle's suite; nothing was stored",
        )
    return matched


def _refuse(label: str, case: CaseResult, message: str) -> InvalidInput:
    return InvalidInput(
        [Problem(label, message, field=case.where or None)], "a report counts only when it ran exactly the bundle's suite; nothing was stored"
    )


class ImpliedCases(NamedTuple):
    """`evals cases REPORT`: the case list a report implies, to declare as `evals: {cases: …}`."""

    cases: list[DeclaredCase]

    def to_json(self) -> dict[str, Any]:
        """The `evals cases --json` document."""
        return {"cases": [case._asdict() for case in self.cases]}


def implied_cases(report: Report, label: str) -> ImpliedCases:
    return ImpliedCases(report_case_list(report, label))


def report_case_list(report: Report, label: str) -> list[DeclaredCase]:
    """The case list a report implies (for `bundlectl evals cases`): each id once, in the report's order."""
    cases: dict[str, DeclaredCase] = {}
    for case in report.cases:
        if case.id in cases and case.variant == 0:
            raise _refuse(label, case, f"case {case.id!r} appears twice, so the report cannot declare a case list")
        cases.setdefault(case.id, DeclaredCase(case.id, case.slice))
    return list(cases.values())
