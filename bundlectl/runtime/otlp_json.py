"""An OpenTelemetry span exporter that appends OTLP/JSON (one ExportTraceServiceRequest per line) to a file.

Follows the OTLP JSON encoding: hex trace and span ids, AnyValue attributes, int64 as strings; the
file is what `bundlectl audit --request-id ID --log FILE` reads. Needs opentelemetry-sdk.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


def any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def attributes(items: Any) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in (items or {}).items()]


def encode_spans(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    grouped: dict[Any, dict[Any, list[ReadableSpan]]] = {}
    for span in spans:
        grouped.setdefault(span.resource, {}).setdefault(span.instrumentation_scope, []).append(span)
    resource_spans = []
    for resource, scopes in grouped.items():
        scope_spans = []
        for scope, members in scopes.items():
            scope_spans.append(
                {
                    "scope": {"name": scope.name if scope else "", "version": (scope.version or "") if scope else ""},
                    "spans": [
                        {
                            "traceId": f"{s.context.trace_id:032x}",
                            "spanId": f"{s.context.span_id:016x}",
                            **({"parentSpanId": f"{s.parent.span_id:016x}"} if s.parent else {}),
                            "name": s.name,
                            "kind": int(s.kind.value) + 1,
                            "startTimeUnixNano": str(s.start_time),
                            "endTimeUnixNano": str(s.end_time),
                            "attributes": attributes(s.attributes),
                            "status": {"code": int(s.status.status_code.value)},
                        }
                        for s in members
                    ],
                }
            )
        resource_spans.append({"resource": {"attributes": attributes(resource.attributes)}, "scopeSpans": scope_spans})
    return {"resourceSpans": resource_spans}


class OtlpJsonFileExporter(SpanExporter):
    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = json.dumps(encode_spans(spans), separators=(",", ":")) + "\n"
        with self._lock, open(self._path, "a", encoding="utf-8") as handle:
            handle.write(line)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass
