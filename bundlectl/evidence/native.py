"""The native evidence format (schemas/evidence.schema.json), for tools without an importer of their own."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bundlectl.errors import InvalidInput, Problem
from bundlectl.evidence.numbers import MAX_COST_USD, MAX_COUNT, MAX_LATENCY_MS, run_time
from bundlectl.evidence.report import CaseResult, Report
from bundlectl.evidence.strict_json import load_json
from bundlectl.evidence.timestamps import parse_run_time
from bundlectl.foundation.names import DIGEST_PATTERN, schema_url

FORMAT = "bundlectl/evidence-v1"

_FINITE = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)  # `true` is not 1 ms, "yes" does not pass


class NativeCase(BaseModel):
    model_config = _FINITE
    id: str = Field(min_length=1)
    slice: str | None = Field(None, description="Default: the slice the suite's case list gives, else `default`.")
    passed: bool
    latency_ms: float | None = Field(None, ge=0, le=MAX_LATENCY_MS)
    cost_usd: float | None = Field(None, ge=0, le=MAX_COST_USD)


class NativeMetrics(BaseModel):
    model_config = _FINITE
    latency_p50_ms: float | None = Field(None, ge=0, le=MAX_LATENCY_MS)
    latency_p95_ms: float | None = Field(None, ge=0, le=MAX_LATENCY_MS)
    cost_per_task_usd: float | None = Field(None, ge=0, le=MAX_COST_USD)
    requests: int | None = Field(None, ge=0, le=MAX_COUNT)
    rollback_ms: float | None = Field(None, ge=0, le=MAX_LATENCY_MS, description="Rehearsals: time to roll back.")
    roll_forward_ms: float | None = Field(None, ge=0, le=MAX_LATENCY_MS, description="Rehearsals: time to roll forward again.")


class NativeReport(BaseModel):
    """An eval run (cases), a load test or cost measurement (metrics), or a rollback rehearsal."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        strict=True,
        title="bundlectl evidence report",
        json_schema_extra={"$id": schema_url("evidence.schema.json")},
    )
    format: Literal["bundlectl/evidence-v1"]
    kind: Literal["eval", "load", "cost", "rehearsal"]
    run_at: str = Field(description="RFC 3339 time the run happened, with a time zone.", json_schema_extra={"format": "date-time"})
    tool: str | None = None
    bundle_digest: str | None = Field(
        None, pattern=DIGEST_PATTERN, description="The bundle the run ran (BUNDLECTL_BUNDLE_DIGEST); checked when given."
    )
    cases: list[NativeCase] = Field(default_factory=list)
    metrics: NativeMetrics = Field(default_factory=lambda: NativeMetrics())


def parse_native(data: bytes, source: str) -> Report:

    return native_report(load_json(data, source), source)


def native_report(document: object, source: str) -> Report:
    """The report in a native document already loaded (strictly) from JSON."""
    from pydantic import ValidationError

    try:
        report = NativeReport.model_validate(document)
    except ValidationError as exc:
        problems = [Problem(source, str(e["msg"]), field=".".join(str(p) for p in e["loc"]) or None) for e in exc.errors()[:3]]
        from bundlectl.foundation.names import schema_hint

        raise InvalidInput(problems, f"the format is {schema_hint('evidence.schema.json')}") from None
    run_at = parse_run_time(report.run_at)
    if run_at is None:
        raise InvalidInput([Problem(source, "run_at must be an RFC 3339 time with a time zone", field="run_at")])
    run_time(run_at, source, "run_at")
    if report.kind == "eval" and not report.cases:
        raise InvalidInput([Problem(source, "an eval report needs cases", field="cases")])
    cases = [CaseResult(c.id, c.slice, c.passed, c.latency_ms, c.cost_usd, where=f"cases[{i}]") for i, c in enumerate(report.cases)]
    metrics = {k: float(v) for k, v in report.metrics.model_dump(exclude_none=True).items()}
    _check_metrics_agree(cases, metrics, source)
    return Report(report.kind, "native", run_at, cases, metrics, tool=report.tool, bundle_digest=report.bundle_digest)


# the metrics an eval report's own cases give; the report may not state them a second time
_FROM_CASES = {"latency_p50_ms": "latency_ms", "latency_p95_ms": "latency_ms", "cost_per_task_usd": "cost_usd"}


def _check_metrics_agree(cases: list[CaseResult], metrics: dict[str, float], source: str) -> None:
    """An eval report's latency and cost come from its cases: a `metrics` value beside them would override them."""

    for key, per_case in _FROM_CASES.items():
        if key in metrics and any(getattr(case, per_case) is not None for case in cases):
            raise InvalidInput(
                [Problem(source, f"states {key} beside cases that measure {per_case}; the figure comes from the cases", field=f"metrics.{key}")],
                "leave it out of metrics: bundlectl derives it from the cases; nothing was stored",
            )
