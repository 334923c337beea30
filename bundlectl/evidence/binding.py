"""Binding a report to one bundle: the checks that make it evidence for that bundle, and its summary.

`bind_report` is what `evidence add` and `bundlectl eval` store, and what `verify` recomputes from the
stored raw report (`record.py`: a stored summary that disagrees with it was edited).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

from bundlectl.bundle.content.promptfoo import compare_tests
from bundlectl.bundle.record import BundleRecord
from bundlectl.digest.canonical import canonical_json
from bundlectl.errors import InvalidInput, Problem, Refused
from bundlectl.evidence.bound_bundle import check_ran_bundle
from bundlectl.evidence.cases import declared_cases, match_cases, promptfoo_suite
from bundlectl.evidence.report import Report, figures

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
    if report.source == "promptfoo" and suite is not None:
        _check_promptfoo_config(report, suite, label)
    declared = declared_cases(evals, read, report.source, suite)
    if declared is None:
        return Binding(report, UNDECLARED, figures(report))
    bound = replace(report, cases=match_cases(report, declared, label))
    if report.source != "promptfoo" and declared.origin == "suite" and report.bundle_digest is None:
        raise InvalidInput(
            [
                Problem(
                    label,
                    f"is a {report.source} report of {record.ref}'s promptfoo suite that does not say which bundle it ran",
                    field="bundle_digest",
                )
            ],
            "attach promptfoo's own results.json (it carries the prompts and model it ran), or write "
            "BUNDLECTL_BUNDLE_DIGEST into the report's bundle_digest (`bundlectl eval` sets it); "
            "nothing was stored",
        )
    return Binding(bound, declared.origin, figures(bound))


def _check_promptfoo_suite(report: Report, record: BundleRecord, suite: tuple[str, dict[str, Any]] | None, label: str) -> None:
    """The tests the run carries must be the tests of the bundle's own promptfoo suite."""

    if suite is None:
        raise Refused(
            f"{record.ref} has no promptfoo suite with inline tests, so a promptfoo report cannot be bound to it",
            "declare the suite in components.evals.suite with its tests inline, or import the run as JUnit or native evidence",
        )
    path, config = suite
    ours = [t for t in config["tests"] if isinstance(t, dict)]
    theirs = report.suite_tests or []
    if ours != theirs and Counter(canonical_json(t) for t in ours) != Counter(canonical_json(t) for t in theirs):
        changes = compare_tests(ours, [t for t in theirs if isinstance(t, dict)])
        first = (
            f"{changes.removed[0]!r} is in the suite but not in the report"
            if changes.removed
            else f"{changes.added[0]!r} is in the report but not in the suite"
            if changes.added
            else f"{changes.changed[0]!r} differs"
            if changes.changed
            else "the tests differ"
        )
        raise Refused(
            f"{label} ran another suite than {record.ref}'s evals component "
            f"({len(theirs)} tests in the report, {len(ours)} in the suite; {first}); nothing was stored",
            f"run promptfoo on the bundle's own suite ({path}) and add that report",
        )


# what promptfoo writes into a report's config that does not change a result: output settings, free text;
# the prompts (checked by their raw texts) and the tests (checked above) are compared on their own
_NOT_RESULTS = frozenset({"description", "tags", "metadata", "sharing", "outputPath", "prompts", "tests"})


def _check_promptfoo_config(report: Report, suite: tuple[str, dict[str, Any]], label: str) -> None:
    """Everything else in the config the run says it ran (defaultTest, scenarios, providers' config, extensions,
    env, …) must be the suite's: an overlay config (`-c suite.yaml -c loose.yaml`) changes every case."""
    path, config = suite
    ours, theirs = _results_config(config), _results_config(report.config or {})
    for key in sorted(set(ours) | set(theirs)):
        if canonical_json(ours.get(key)) != canonical_json(theirs.get(key)):
            inner = _first_difference(ours.get(key), theirs.get(key))
            field = f"config.{key}" + (f".{inner}" if inner else "")
            raise InvalidInput(
                [
                    Problem(
                        label,
                        f"differs from the suite's ({path}): "
                        f"{_short(theirs.get(key), inner)} in the report, {_short(ours.get(key), inner)} "
                        "in the suite",
                        field=field,
                    )
                ],
                f"run promptfoo on the bundle's own suite ({path}) alone, with no other config; nothing was stored",
            )


def _results_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config keys that change results, with the empty values promptfoo fills in (`assert: []`, `env: {}`) left out."""
    kept = {k: v for k, v in config.items() if k not in _NOT_RESULTS and not _empty(v)}
    if isinstance(kept.get("defaultTest"), dict):
        kept["defaultTest"] = {k: v for k, v in kept["defaultTest"].items() if not _empty(v)} or None
    return {k: v for k, v in kept.items() if v is not None}


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _first_difference(ours: Any, theirs: Any) -> str:
    """The first key of two mappings whose values differ, to name it in the refusal."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return next((k for k in sorted(set(ours) | set(theirs)) if canonical_json(ours.get(k)) != canonical_json(theirs.get(k))), "")
    return ""


def _short(value: Any, key: str) -> str:
    shown = value.get(key) if key and isinstance(value, dict) else value
    text = "nothing" if shown is None else canonical_json(shown).decode()
    return text if len(text) <= 60 else text[:57] + "…"
