"""An imported report, whatever tool wrote it, and the figures the gate reads from it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from bundlectl.digest.canonical import digest_of, hex_of

KINDS = ("eval", "load", "cost", "rehearsal")
DEFAULT_SLICE = "default"


@dataclass(frozen=True)
class CaseResult:
    id: str
    slice: str | None  # None: the report does not say (the suite's case list may)
    passed: bool
    latency_ms: float | None = None
    cost_usd: float | None = None
    variant: int = 0  # promptfoo: which prompt × provider of the run (index into results.prompts)
    where: str = ""  # the report field it came from, for messages


class Provider(NamedTuple):
    id: str | None
    label: str | None

    def __str__(self) -> str:
        return " ".join(filter(None, (self.id, f"(label {self.label!r})" if self.label else None))) or "(no id)"


class Ran(NamedTuple):
    """What a report says it ran: the raw prompt texts and the providers (promptfoo carries both)."""

    prompts: list[str]
    providers: list[Provider]


@dataclass(frozen=True)
class Report:
    kind: str
    source: str  # promptfoo, junit, native
    run_at: datetime
    cases: list[CaseResult] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # measured directly (load and cost reports)
    suite_tests: list[Any] | None = None  # the tests the run says it ran (promptfoo)
    config: dict[str, Any] | None = None  # the whole config the run says it ran (promptfoo)
    ran: Ran | None = None
    variants: int = 1  # promptfoo: prompts × providers, each running every case once
    run_id: str | None = None  # promptfoo's evalId
    tool: str | None = None
    bundle_digest: str | None = None  # native reports may say which bundle they ran


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def figures(report: Report) -> dict[str, Any]:
    """Total cases, pass rate, per-slice figures, p50/p95 latency and cost per task."""
    result: dict[str, Any] = {}
    if report.cases:
        passed = sum(c.passed for c in report.cases)
        result["cases"] = len(report.cases)
        result["passed"] = passed
        result["pass_rate"] = round(passed / len(report.cases), 6)
        slices: dict[str, dict[str, Any]] = {}
        for case in report.cases:
            entry = slices.setdefault(case.slice or DEFAULT_SLICE, {"cases": 0, "passed": 0})
            entry["cases"] += 1
            entry["passed"] += case.passed
        for entry in slices.values():
            entry["pass_rate"] = round(entry["passed"] / entry["cases"], 6)
        result["slices"] = dict(sorted(slices.items()))
        latencies = [c.latency_ms for c in report.cases if c.latency_ms is not None]
        if latencies:
            result["latency_p50_ms"] = percentile(latencies, 0.50)
            result["latency_p95_ms"] = percentile(latencies, 0.95)
        costs = [c.cost_usd for c in report.cases if c.cost_usd is not None]
        if costs:
            result["cost_per_task_usd"] = round(sum(costs) / len(costs), 8)
    result.update(report.metrics)
    return result


def run_identity(report: Report) -> str | None:
    """Which run of the tool a report is, so that one run is evidence for one bundle only.

    promptfoo names its runs (evalId). JUnit and native reports do not, so theirs is derived from what
    they say they measured (when, every case with its outcome and measurements, the metrics), not from
    their bytes: a copy with a space added, keys reordered or another `bundle_digest` is the same run."""
    if report.run_id or report.source == "promptfoo":
        return report.run_id

    measured = {
        "kind": report.kind,
        "run_at": report.run_at.isoformat(),
        "metrics": report.metrics,
        "cases": [[c.id, c.slice, c.passed, c.latency_ms, c.cost_usd] for c in report.cases],
    }
    return f"{report.source}-{hex_of(digest_of(measured))[:32]}"
