"""The native evidence format (schemas/evidence.schema.json), for tools without an importer of their own."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bundlectl.evidence.report import CaseResult, Report

FORMAT = "bundlectl/evidence-v1"


class NativeCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    slice: str = "default"
    passed: bool
    latency_ms: float | None = Field(None, ge=0)
    cost_usd: float | None = Field(None, ge=0)


class NativeMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latency_p50_ms: float | None = Field(None, ge=0)
    latency_p95_ms: float | None = Field(None, ge=0)
    cost_per_task_usd: float | None = Field(None, ge=0)
    requests: int | None = Field(None, ge=0)
    rollback_ms: float | None = Field(None, ge=0, description="Rehearsals: time to roll back.")
    roll_forward_ms: float | None = Field(None, ge=0, description="Rehearsals: time to roll forward again.")


class NativeReport(BaseModel):
    """An eval run (cases), a load test or cost measurement (metrics), or a rollback rehearsal."""

    model_config = ConfigDict(extra="forbid", title="bundlectl evidence report",
                              json_schema_extra={"$id": "https://bundlectl.dev/schemas/evidence.schema.json"})
    format: Literal["bundlectl/evidence-v1"]
    kind: Literal["eval", "load", "cost", "rehearsal"]
    run_at: str = Field(description="RFC 3339 time the run happened, with a time zone.")
    tool: str | None = None
    cases: list[NativeCase] = Field(default_factory=list)
    metrics: NativeMetrics = Field(default_factory=lambda: NativeMetrics())


def parse_native(data: bytes, source: str) -> Report:
    from pydantic import ValidationError

    from bundlectl.errors import InvalidInput, Problem
    from bundlectl.evidence.timestamps import parse_run_time

    try:
        report = NativeReport.model_validate_json(data)
    except ValidationError as exc:
        problems = [Problem(source, str(e["msg"]), field=".".join(str(p) for p in e["loc"]) or None) for e in exc.errors()]
        raise InvalidInput(problems, "the format is schemas/evidence.schema.json") from None
    run_at = parse_run_time(report.run_at)
    if run_at is None:
        raise InvalidInput([Problem(source, "run_at must be an RFC 3339 time with a time zone", field="run_at")])
    if report.kind == "eval" and not report.cases:
        raise InvalidInput([Problem(source, "an eval report needs cases", field="cases")])
    cases = [CaseResult(c.id, c.slice, c.passed, c.latency_ms, c.cost_usd) for c in report.cases]
    metrics = {k: float(v) for k, v in report.metrics.model_dump(exclude_none=True).items()}
    return Report(report.kind, "native", run_at, cases, metrics)
