import json
import socket

import pytest

from bundlectl.errors import IntegrityFailure
from bundlectl.runtime import RegistryUnavailable, Runtime
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy, write_behind_bundlectl


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def staged(registered: Workspace) -> Workspace:
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    promote(registered, V1, "staging")
    return registered


def runtime_for(ws: Workspace, clock: Clock | None = None, **kwargs) -> Runtime:
    return Runtime("support-triage", "staging", cwd=ws.root, clock=clock or Clock(), poll_interval=10, **kwargs)


def test_follows_promotions_and_rollbacks_at_the_poll_interval(staged: Workspace):
    clock = Clock()
    runtime = runtime_for(staged, clock)
    assert (runtime.current().version, runtime.current().pointer_version) == ("2026.11.01-1", 1)
    promote(staged, V2, "staging")
    assert runtime.current().version == "2026.11.01-1"  # cached until the poll interval passes
    clock.now += 11
    assert runtime.current().version == "2026.11.22-1" and runtime.problem is None
    assert staged.run("rollback", "support-triage", "--env", "staging").exit_code == 0
    assert runtime.refresh() is True
    assert (runtime.current().version, runtime.current().pointer_version) == ("2026.11.01-1", 3)
    assert runtime.refresh() is False  # unchanged pointer: nothing reloaded


def test_component_files_come_from_the_registry_with_digests_checked(staged: Workspace):
    bundle = runtime_for(staged).current()
    expected = (staged.root / "bundles/support-triage-v1/prompts/system.md").read_text()
    assert bundle.text("prompts/system.md") == expected
    assert bundle.document("policy/guardrails.yaml")["abstention"]["min_confidence"] == 0.55
    assert [t["function"]["name"] for t in bundle.document("tools/manifest.json")][:2] == ["lookup_customer", "get_order_status"]
    assert bundle.files_of("prompt") == ["prompts/system.md", "prompts/user.j2"]


def test_a_replayed_older_pointer_is_refused_and_reported(staged: Workspace, caplog):
    runtime = runtime_for(staged)
    storage = staged.storage()
    old = storage.read_pointer("envs/support-triage/staging").value
    promote(staged, V2, "staging")
    assert runtime.refresh() and runtime.current().pointer_version == 2
    write_behind_bundlectl(staged, "pointers/envs/support-triage/staging", old)
    with caplog.at_level("WARNING", logger="bundlectl.runtime"):
        assert runtime.refresh() is False
    assert runtime.current().version == "2026.11.22-1"
    assert "refused a replayed or stale pointer: version 1 (2026.11.01-1) is older than version 2" in runtime.problem
    assert "refused a replayed or stale pointer" in caplog.text


def test_a_pointer_the_log_does_not_back_is_refused(staged: Workspace):
    runtime = runtime_for(staged)
    forged = json.dumps({"name": "support-triage", "env": "staging", "digest": staged.json("show", V2)["digest"],
                         "version": "2026.11.22-1", "pointer_version": 9, "seq": 99}).encode()
    write_behind_bundlectl(staged, "pointers/envs/support-triage/staging", forged)
    assert runtime.refresh() is False
    assert runtime.current().version == "2026.11.01-1"
    # git refuses it as every read does (the pointer against the log); S3 in the runtime's own check
    assert "says 2026.11.22-1 (" in runtime.problem and "version 9)" in runtime.problem
    assert "log says 2026.11.01-1 (" in runtime.problem


def test_unreachable_registry_keeps_the_last_verified_bundle(staged: Workspace, monkeypatch, tmp_path):
    runtime = runtime_for(staged)
    if staged.backend == "git":
        (staged.root / ".git").rename(tmp_path / "moved-away")
    else:
        import boto3
        from botocore.config import Config

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        runtime.storage._client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                                               config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    assert runtime.refresh() is False
    assert runtime.current().version == "2026.11.01-1"
    assert runtime.problem.startswith("registry unreachable or inconsistent")
    assert "still serving 2026.11.01-1 (pointer version 1)" in runtime.problem


def test_nothing_live_means_nothing_to_serve(registered: Workspace):
    with pytest.raises(RegistryUnavailable) as err:
        runtime_for(registered)
    assert "no verified bundle of support-triage in staging" in err.value.message


def test_stamp_on_an_opentelemetry_span_and_in_the_request_log(staged: Workspace, tmp_path):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    log = tmp_path / "requests.jsonl"
    runtime = runtime_for(staged, request_log=log)
    from opentelemetry import trace

    with tracer.start_as_current_span("request"):
        assert trace.get_current_span().is_recording()
        stamp = runtime.stamp("req-1")
    runtime.close()
    digest = staged.json("show", V1)["digest"]
    expected = {"bundle.name": "support-triage", "bundle.version": "2026.11.01-1", "bundle.digest": digest,
                "bundle.env": "staging", "bundle.pointer_version": 1, "request.id": "req-1"}
    assert stamp == expected
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes) == expected
    line = json.loads(log.read_text().splitlines()[0])
    assert {k: v for k, v in line.items() if k != "time"} == expected and line["time"].endswith("Z")


def test_tampered_file_is_refused_at_load(git_registered: Workspace):
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, V1, "staging")
    bundle = runtime_for(ws).current()
    digest = bundle.record.components["runbook"].files["runbook.md"].digest
    write_behind_bundlectl(ws, f"objects/blobs/{digest.split(':')[1]}", b"do something else")
    with pytest.raises(IntegrityFailure):
        bundle.text("runbook.md")
