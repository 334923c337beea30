"""What a drift record stores, and the same figures derived again from the two stored runs it names."""

from __future__ import annotations

from typing import Any

from bundlectl.bundle.record import BundleRecord
from bundlectl.driftcheck.baseline import stored_cases
from bundlectl.driftcheck.compare import Comparison, compare_runs
from bundlectl.driftcheck.decision import Decision, decide, metric_check
from bundlectl.evidence.report import CaseResult
from bundlectl.registry.rows import EvidenceRow
from bundlectl.storage.base import Storage


def judge(
    record: BundleRecord, before: list[CaseResult], after: list[CaseResult], run_figures: dict[str, Any], alpha: float
) -> tuple[Comparison, Decision]:
    comparison = compare_runs(before, after)
    return comparison, decide(comparison, alpha, metric_check(record.metadata.get("outcome"), run_figures))


def drift_figures(comparison: Comparison, decision: Decision) -> dict[str, Any]:
    """The `figures` of a drift record: derivable again from the two runs it names (`rederived`)."""
    return {
        **comparison.to_json(),
        "decision": decision.decision,
        "tests": decision.tests,
        "metric": decision.metric.to_json() if decision.metric else None,
    }


def rederived_figures(storage: Storage, record: BundleRecord, baseline: EvidenceRow, run: EvidenceRow, alpha: float) -> dict[str, Any]:
    """The figures (with the decision) the two stored runs give at `alpha`: their reports are read and matched to the
    bundle's suite again, so nothing a drift record or an evidence record caches is taken on trust."""
    before, after = stored_cases(storage, record, baseline), stored_cases(storage, record, run)
    return drift_figures(*judge(record, before, after, run.figures, alpha))
