import json
from datetime import timedelta

import pytest

from bundlectl.foundation.clock import event_time, parse_time
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy


@pytest.fixture
def moves(registered: Workspace) -> Workspace:
    """staging: promote v1, promote v2, roll back (to v1)."""
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    promote(registered, V1, "staging", "--actor", "ann@example.com")
    promote(registered, V2, "staging", "--actor", "bob@example.com")
    assert registered.run("rollback", "support-triage", "--env", "staging", "--reason", "misroutes").exit_code == 0
    return registered


def times(ws: Workspace) -> list[str]:
    return [e["time"] for e in reversed(ws.json("history", "support-triage", "--env", "staging")["events"])]


def audit_at(ws: Workspace, moment: str):
    return ws.run("audit", "support-triage", "--at", moment, "--env", "staging", "--json")


def shifted(moment: str, micros: int) -> str:
    return event_time(parse_time(moment) + timedelta(microseconds=micros))


def test_audit_at_exact_boundaries_and_across_rollbacks(moves: Workspace):
    first, second, back = times(moves)
    before = audit_at(moves, shifted(first, -1))
    assert before.exit_code == 4 and "nothing of support-triage was live in staging" in before.stderr
    at_first = json.loads(audit_at(moves, first).stdout)
    assert set(at_first) >= {"name", "version", "digest", "env", "live_from", "live_until", "promoted_by"}
    assert (at_first["version"], at_first["live_from"], at_first["live_until"], at_first["promoted_by"]) == (
        "2026.11.01-1",
        first,
        second,
        "ann@example.com",
    )
    assert at_first["evidence"] and at_first["evidence"][0]["kind"] == "eval"
    just_before_second = json.loads(audit_at(moves, shifted(second, -1)).stdout)
    assert just_before_second["version"] == "2026.11.01-1"
    at_second = json.loads(audit_at(moves, second).stdout)
    assert (at_second["version"], at_second["promoted_by"]) == ("2026.11.22-1", "bob@example.com")
    after_rollback = json.loads(audit_at(moves, shifted(back, 1)).stdout)
    assert (after_rollback["version"], after_rollback["action"], after_rollback["live_until"]) == ("2026.11.01-1", "rollback", None)
    assert after_rollback["reason"] == "misroutes" and after_rollback["pointer_version"] == 3
    human = moves.run("audit", "support-triage", "--at", second, "--env", "staging")
    assert "support-triage@2026.11.22-1" in human.output and f"from {second} until {back}" in human.output


def test_audit_at_needs_a_time_zone(moves: Workspace):
    result = moves.run("audit", "support-triage", "--at", "2026-11-22T10:00:00", "--env", "staging")
    assert result.exit_code == 2 and "has no time zone" in result.output


def serve(ws: Workspace, tmp_path, count: int = 3) -> tuple[list[str], str, str]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from bundlectl.runtime import Runtime
    from bundlectl.runtime.otlp_json import OtlpJsonFileExporter

    otlp, requests = tmp_path / "traces.jsonl", tmp_path / "requests.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileExporter(otlp)))
    tracer = provider.get_tracer("test")
    runtime = Runtime("support-triage", "staging", cwd=ws.root, request_log=requests)
    ids = []
    for i in range(count):
        with tracer.start_as_current_span("request"):
            ids.append(f"req-{i:04d}")
            runtime.stamp(ids[-1])
    runtime.close()
    provider.shutdown()
    return ids, str(otlp), str(requests)


def test_audit_request_from_otlp_export_and_request_log(moves: Workspace, tmp_path):
    ids, otlp, requests = serve(moves, tmp_path)
    for log in (otlp, requests):
        result = moves.run("audit", "--request-id", ids[1], "--log", log, "--json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["consistent"] is True and document["version"] == "2026.11.01-1"
        assert set(document["components"]) == {"model", "prompt", "schema", "retriever", "tools", "guardrails", "evals", "runbook"}
        assert document["live"]["action"] == "rollback" and document["stamp"]["found_in"].endswith(":2")
    with open(otlp) as handle:
        otlp_line = json.loads(handle.readline())
    span = otlp_line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32 and {"key": "bundle.pointer_version", "value": {"intValue": "3"}} in span["attributes"]


def test_audit_request_that_disagrees_with_the_log(moves: Workspace, tmp_path):
    first, _second, back = times(moves)
    v2 = moves.json("show", V2)["digest"]
    log = tmp_path / "forged.jsonl"
    stamp = {
        "time": shifted(back, 5),
        "request.id": "req-forged",
        "bundle.name": "support-triage",
        "bundle.version": "2026.11.22-1",
        "bundle.digest": v2,
        "bundle.env": "staging",
        "bundle.pointer_version": 2,
    }
    log.write_text(json.dumps({"time": first, "request.id": "req-other"}) + "\n" + json.dumps(stamp) + "\n")
    result = moves.run("audit", "--request-id", "req-forged", "--log", str(log))
    assert result.exit_code == 5
    assert "the stamp DISAGREES with the log: the log says 2026.11.01-1" in result.stderr
    early = dict(stamp, **{"request.id": "req-early", "time": shifted(first, -10)})
    log.write_text(json.dumps(early) + "\n")
    result = moves.run("audit", "--request-id", "req-early", "--log", str(log), "--json")
    assert result.exit_code == 5 and "nothing of support-triage was live in staging" in json.loads(result.stdout)["problem"]


def test_audit_request_not_found_and_usage(moves: Workspace, tmp_path):
    log = tmp_path / "empty.jsonl"
    log.write_text('{"request.id": "req-a-longer-id"}\n')
    missing = moves.run("audit", "--request-id", "req-a", "--log", str(log))
    assert missing.exit_code == 4 and "request req-a is not in" in missing.stderr
    assert moves.run("audit", "--request-id", "req-a").exit_code == 2
    assert moves.run("audit", "support-triage", "--env", "staging").exit_code == 2


def test_request_search_without_grep_finds_the_same_stamp(moves: Workspace, tmp_path, monkeypatch):
    """grep is only a faster path: where it is missing, the mmap scan must give the same answer."""
    import shutil

    from bundlectl.workflows.audit import find_stamp

    ids, _otlp, _requests = serve(moves, tmp_path, count=5)
    with_grep = [find_stamp(ids[3], [p]) for p in (tmp_path / "traces.jsonl", tmp_path / "requests.jsonl")]
    monkeypatch.setattr(shutil, "which", lambda name: None)  # a machine without grep cannot be had here
    without = [find_stamp(ids[3], [p]) for p in (tmp_path / "traces.jsonl", tmp_path / "requests.jsonl")]
    assert with_grep == without and without[1].where.endswith("requests.jsonl:4")
