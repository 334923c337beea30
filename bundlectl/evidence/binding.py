"""Binding a report to one bundle: the checks that make it evidence for that bundle, and its summary.

`bind_report` is what `evidence add` and `bundlectl eval` store, and what `verify` recomputes from the
stored raw report (a stored summary that disagrees with it was edited).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

from bundlectl.digest.canonical import canonical_json
from bundlectl.errors import Refused
from bundlectl.evidence.bound_bundle import check_ran_bundle
from bundlectl.evidence.cases import declared_cases, match_cases, promptfoo_suite
from bundlectl.evidence.report import Report, figures
from bundlectl.record import BundleRecord
from bundlectl.registry.events import EvidenceData

Reader = Callable[[str], bytes]
UNDECLARED = "undeclared"


class Binding(NamedTuple):
    report: Report  # its cases matched to the suite's (slices from the declaration)
    cases: str | None  # eval reports: "suite", "cases" or "undeclared" (never satisfies an eval gate)
    figures: dict[str, Any]


def bind_report(report: Report, record: BundleRecord, read: Reader, label: str) -> Binding:
    if report.kind != "eval":
        return Binding(report, None, figures(report))
    evals = record.components["evals"]
    suite = promptfoo_suite(evals, read)
    if report.source == "promptfoo":
        _check_promptfoo_suite(report, record, suite, label)
    check_ran_bundle(report, record, read, label)
    declared = declared_cases(evals, read, report.source, suite)
    if declared is None:
        return Binding(report, UNDECLARED, figures(report))
    bound = replace(report, cases=match_cases(report, declared, label))
    return Binding(bound, declared.origin, figures(bound))


def _check_promptfoo_suite(report: Report, record: BundleRecord, suite: tuple[str, dict[str, Any]] | None, label: str) -> None:
    """The tests the run carries must be the tests of the bundle's own promptfoo suite."""
    from bundlectl.content.promptfoo import compare_tests

    if suite is None:
        raise Refused(f"{record.ref} has no promptfoo suite with inline tests, so a promptfoo report cannot be bound to it",
                      "declare the suite in components.evals.suite with its tests inline, "
                      "or import the run as JUnit or native evidence")
    path, config = suite
    ours = [t for t in config["tests"] if isinstance(t, dict)]
    theirs = report.suite_tests or []
    if ours != theirs and Counter(canonical_json(t) for t in ours) != Counter(canonical_json(t) for t in theirs):
        changes = compare_tests(ours, [t for t in theirs if isinstance(t, dict)])
        first = (f"{changes.removed[0]!r} is in the suite but not in the report" if changes.removed
                 else f"{changes.added[0]!r} is in the report but not in the suite" if changes.added
                 else f"{changes.changed[0]!r} differs" if changes.changed else "the tests differ")
        raise Refused(
            f"{label} ran another suite than {record.ref}'s evals component "
            f"({len(theirs)} tests in the report, {len(ours)} in the suite; {first}); nothing was stored",
            f"run promptfoo on the bundle's own suite ({path}) and add that report",
        )


def summary_tampering(data: bytes, evidence: EvidenceData, record: BundleRecord, read: Reader) -> str | None:
    """How a stored summary disagrees with the one its stored raw report gives (for `verify`); None when they agree."""
    from bundlectl.errors import BundlectlError
    from bundlectl.evidence.importers import import_report

    label = evidence["file"]
    try:
        report = import_report(data, label, evidence["source"])
        bound = bind_report(report, record, read, label) if ("cases" in evidence or "provenance" in evidence) else None
    except BundlectlError as exc:
        return f"its stored report {label} no longer gives a summary ({exc.message.splitlines()[0]})"
    derived = bound.figures if bound else figures(report)
    stored = evidence["figures"]
    for key in sorted(set(derived) | set(stored)):
        if derived.get(key) != stored.get(key):
            return (f"the summary says {key} = {stored.get(key)!r}, but its stored report {label} gives "
                    f"{derived.get(key)!r}: the summary was edited")
    if bound is not None and bound.cases != evidence.get("cases"):
        return f"the record says its cases matched {evidence.get('cases')!r}, but its stored report gives {bound.cases!r}"
    return None
