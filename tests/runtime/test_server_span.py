"""The README's WSGI recipe: stamped inside OpenTelemetry's WSGI middleware, the attributes land on the server span."""

from __future__ import annotations

import pytest

from tests.conftest import V1, Workspace
from tests.helpers import promote, set_policy

pytest.importorskip("opentelemetry.instrumentation.wsgi")


def test_a_flask_before_request_stamp_lands_on_the_server_span(git_registered: Workspace, runtimes):
    from flask import Flask, request
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    set_policy(git_registered, "environments:\n  staging: {}\n")
    promote(git_registered, V1, "staging")
    runtime = runtimes(git_registered)

    app = Flask("triage")
    app.wsgi_app = OpenTelemetryMiddleware(app.wsgi_app, tracer_provider=provider)  # as the README shows

    @app.before_request
    def stamp() -> None:
        runtime.stamp(request.headers.get("X-Request-Id"))

    @app.post("/triage")
    def triage() -> dict:
        return {"prompt_chars": len(runtime.current().text("prompts/system.md"))}

    response = app.test_client().post("/triage", headers={"X-Request-Id": "req-wsgi-1"})
    assert response.status_code == 200
    response.close()  # the middleware ends the server span when the server closes the response
    (span,) = exporter.get_finished_spans()
    assert span.kind == SpanKind.SERVER
    assert span.attributes["request.id"] == "req-wsgi-1"
    assert span.attributes["bundle.version"] == "2026.11.01-1" and span.attributes["bundle.env"] == "staging"
    assert span.attributes["bundle.digest"].startswith("sha256:")
