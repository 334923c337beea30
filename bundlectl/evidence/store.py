"""Binding reports to a bundle: `evidence add` and `evidence list`.

A report is bound to the bundle digest and, for eval runs, to the digest of the bundle's `evals`
component. A promptfoo report must carry exactly the tests of the bundle's own suite.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bundlectl.clock import now_utc, rfc3339
from bundlectl.digest.canonical import canonical_json
from bundlectl.errors import InvalidInput, Problem, Refused, UsageProblem
from bundlectl.evidence.report import KINDS, Report, figures
from bundlectl.evidence.timestamps import CLOCK_SKEW
from bundlectl.faults import OBJECTS_STORED, checkpoint
from bundlectl.registry.events import EvidenceData
from bundlectl.registry.fresh import fresh_index
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append
from bundlectl.registry.objects import report_key
from bundlectl.registry.rows import BundleRow
from bundlectl.storage.base import Storage


@dataclass(frozen=True)
class EvidenceAdded:
    bundle: BundleRow
    kind: str
    source: str
    run_at: str
    figures: dict[str, Any]
    created: bool
    seq: int | None


def add_evidence(
    storage: Storage, bundle: BundleRow, data: bytes, label: str, kind: str | None, fmt: str,
    actor: str, reason: str | None = None, now: datetime | None = None,
) -> EvidenceAdded:
    from bundlectl.evidence.importers import import_report

    now = now or now_utc()
    if kind is not None and kind not in KINDS:
        raise UsageProblem(f"unknown evidence kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    report = import_report(data, label, fmt)
    if kind is not None and kind != report.kind:
        raise UsageProblem(f"{label} is a {report.kind} report ({report.source}), not {kind}",
                           "leave --kind out, or give a report of that kind")
    if report.run_at > now + CLOCK_SKEW:
        raise InvalidInput([Problem(label, f"claims its run happened in the future ({rfc3339(report.run_at)})")],
                           "check the clock of the machine that ran it")
    record = bundle.record()
    evals = record.components["evals"]
    if report.source == "promptfoo":
        _check_suite(storage, record.components["evals"], report, label, bundle)
    key = report_key(data)
    event_data = EvidenceData(
        name=bundle.name, version=bundle.version, digest=bundle.digest,
        evals_digest=evals.digest if report.kind == "eval" else None,
        kind=report.kind, source=report.source, run_at=rfc3339(report.run_at),
        figures=figures(report), report_key=key, file=Path(label).name,
    )

    def plan(index: Index) -> Planned | None:
        if any(e.report_key == key for e in index.evidence_for(bundle.digest)):
            return None
        return Planned("evidence", event_data)

    if plan(fresh_index(storage)) is None:
        return EvidenceAdded(bundle, report.kind, report.source, event_data["run_at"], event_data["figures"], False, None)
    storage.put_object(key, data)
    checkpoint(OBJECTS_STORED)
    event = append(storage, plan, actor, reason)
    return EvidenceAdded(bundle, report.kind, report.source, event_data["run_at"], event_data["figures"],
                         event is not None, event.seq if event else None)


def _check_suite(storage: Storage, evals: Any, report: Report, label: str, bundle: BundleRow) -> None:
    """The tests the run carries must be the tests of the bundle's own promptfoo suite."""
    from bundlectl.content.documents import parse_document
    from bundlectl.content.promptfoo import compare_tests, suite_tests
    from bundlectl.registry.bundles import read_blob

    suite_path = evals.fields.get("suite")
    if evals.absent or not suite_path:
        raise Refused(f"{bundle.name}@{bundle.version} has no promptfoo suite, so a promptfoo report cannot be bound to it",
                      "declare the suite in components.evals.suite, or import the run as JUnit or native evidence")
    suite = parse_document(read_blob(storage, evals.files[suite_path].digest, suite_path), suite_path)
    ours = suite_tests(suite)
    if not isinstance(suite.get("tests") if isinstance(suite, dict) else None, list):
        raise Refused(f"the suite {suite_path} does not list its tests inline, so the report cannot be checked against it",
                      "inline the tests in the promptfoo config")
    theirs = report.suite_tests or []
    if Counter(canonical_json(t) for t in ours) != Counter(canonical_json(t) for t in theirs):
        changes = compare_tests(ours, [t for t in theirs if isinstance(t, dict)])
        first = (f"{changes.removed[0]!r} is in the suite but not in the report" if changes.removed
                 else f"{changes.added[0]!r} is in the report but not in the suite" if changes.added
                 else f"{changes.changed[0]!r} differs" if changes.changed else "the tests differ")
        raise Refused(
            f"{label} ran another suite than {bundle.name}@{bundle.version}'s evals component "
            f"({len(theirs)} tests in the report, {len(ours)} in the suite; {first}); nothing was stored",
            f"run promptfoo on the bundle's own suite ({suite_path}) and add that report",
        )
