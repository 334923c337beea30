"""The runtime follows the pointer, verified and never backwards; its files are fetched before it serves them; stamps."""

import json
import socket

import pytest

from bundlectl.runtime import BundlectlError, FileNotInBundle, RegistryUnavailable
from tests.conftest import V2, Workspace
from tests.helpers import promote, set_policy, write_behind_bundlectl


def test_follows_promotions_and_rollbacks(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, follow=False)
    assert (runtime.current().version, runtime.current().pointer_version) == ("2026.11.01-1", 1)
    promote(v1_live, V2, "staging")
    assert runtime.current().version == "2026.11.01-1"  # nothing changes between checks
    assert runtime.refresh() is True
    assert runtime.current().version == "2026.11.22-1" and runtime.problem is None
    assert v1_live.run("rollback", "support-triage", "--env", "staging").exit_code == 0
    assert runtime.refresh() is True
    assert (runtime.current().version, runtime.current().pointer_version) == ("2026.11.01-1", 3)
    assert runtime.refresh() is False  # unchanged pointer: nothing reloaded


def test_component_files_are_fetched_and_checked_before_the_bundle_is_served(v1_live: Workspace, runtimes):
    bundle = runtimes(v1_live, follow=False).current()
    expected = (v1_live.root / "bundles/support-triage-v1/prompts/system.md").read_text()
    assert bundle.text("prompts/system.md") == expected
    assert bundle.document("policy/guardrails.yaml")["abstention"]["min_confidence"] == 0.55
    assert [t["function"]["name"] for t in bundle.document("tools/manifest.json")][:2] == ["lookup_customer", "get_order_status"]
    assert bundle.files_of("prompt") == ["prompts/system.md", "prompts/user.j2"]
    all_files = {p for c in bundle.record.components.values() for p in c.files}
    assert set(bundle.files) == all_files and all_files  # every file is in memory before the first request
    with pytest.raises(FileNotInBundle) as err:
        bundle.file("prompts/missing.md")
    assert "prompts/missing.md is not a file of support-triage@2026.11.01-1" in err.value.message
    assert isinstance(err.value, BundlectlError) and "prompts/system.md" in err.value.hint


def test_a_replayed_older_pointer_is_refused_and_reported(v1_live: Workspace, runtimes, caplog):
    runtime = runtimes(v1_live, follow=False)
    storage = v1_live.storage()
    old = storage.read_pointer("envs/support-triage/staging").value
    promote(v1_live, V2, "staging")
    assert runtime.refresh() and runtime.current().pointer_version == 2
    write_behind_bundlectl(v1_live, "pointers/envs/support-triage/staging", old)
    with caplog.at_level("WARNING", logger="bundlectl.runtime"):
        assert runtime.refresh() is False
    assert runtime.current().version == "2026.11.22-1"
    assert "refused a replayed or stale pointer: version 1 (2026.11.01-1) is older than version 2" in runtime.problem
    assert "refused a replayed or stale pointer" in caplog.text


def test_a_pointer_the_log_does_not_back_is_refused(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, follow=False)
    forged = json.dumps(
        {
            "name": "support-triage",
            "env": "staging",
            "digest": v1_live.json("show", V2)["digest"],
            "version": "2026.11.22-1",
            "pointer_version": 9,
            "seq": 99,
        }
    ).encode()
    write_behind_bundlectl(v1_live, "pointers/envs/support-triage/staging", forged)
    assert runtime.refresh() is False
    assert runtime.current().version == "2026.11.01-1"
    # git refuses it as every read does (the pointer against the log); S3 in the runtime's own check
    assert "says 2026.11.22-1 (" in runtime.problem and "version 9)" in runtime.problem
    assert "log says 2026.11.01-1 (" in runtime.problem


def test_a_bundle_with_a_damaged_file_is_never_switched_to(git_registered: Workspace, runtimes):
    from bundlectl import api

    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, "support-triage@2026.11.01-1", "staging")
    runtime = runtimes(ws, follow=False)
    served = {e.digest for c in runtime.current().record.components.values() for e in c.files.values()}
    digest = next(e.digest for c in api.show(V2).components.values() for e in c.files.values() if e.digest not in served)
    promote(ws, V2, "staging")
    write_behind_bundlectl(ws, f"objects/blobs/{digest.split(':')[1]}", b"abstention: {min_confidence: 0}")
    assert runtime.refresh() is False
    assert runtime.current().version == "2026.11.01-1"  # the old bundle, whole, until the new one is whole
    assert "does not match its digest" in runtime.problem and "still serving 2026.11.01-1" in runtime.problem
    with pytest.raises(RegistryUnavailable) as err:  # and a process starting now has nothing safe to serve
        runtimes(ws)
    assert "does not match its digest" in err.value.message


def test_unreachable_registry_keeps_the_last_verified_bundle(v1_live: Workspace, runtimes, tmp_path):
    runtime = runtimes(v1_live, follow=False)
    if v1_live.backend == "git":
        (v1_live.root / ".git").rename(tmp_path / "moved-away")
    else:
        import boto3
        from botocore.config import Config

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        runtime.storage._client = boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{port}", config=Config(retries={"total_max_attempts": 1}, connect_timeout=1)
        )
    assert runtime.refresh() is False
    assert runtime.current().version == "2026.11.01-1"
    assert runtime.problem.startswith("registry unreachable or inconsistent")
    assert "still serving 2026.11.01-1 (pointer version 1)" in runtime.problem


def test_nothing_live_means_nothing_to_serve(registered: Workspace, runtimes):
    with pytest.raises(RegistryUnavailable) as err:
        runtimes(registered)
    assert "no verified bundle of support-triage in staging to serve" in err.value.message
    assert "nothing of support-triage is live in staging" in err.value.message


def test_bad_arguments_are_refused_before_anything_starts(v1_live: Workspace, runtimes):
    with pytest.raises(BundlectlError) as err:
        runtimes(v1_live, poll_interval=0)
    assert "must be positive numbers of seconds" in err.value.message
    from bundlectl.runtime import Runtime

    with pytest.raises(BundlectlError) as err:
        Runtime("Support Triage", "staging", cwd=v1_live.root)
    assert "is not a bundle name and environment" in err.value.message


def test_stamp_on_an_opentelemetry_span_and_in_the_request_log(v1_live: Workspace, runtimes, tmp_path):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    log = tmp_path / "requests.jsonl"
    runtime = runtimes(v1_live, request_log=log)
    from opentelemetry import trace

    with tracer.start_as_current_span("request"):
        assert trace.get_current_span().is_recording()
        stamp = runtime.stamp("req-1")
    runtime.close()
    digest = v1_live.json("show", "support-triage@2026.11.01-1")["digest"]
    expected = {
        "bundle.name": "support-triage",
        "bundle.version": "2026.11.01-1",
        "bundle.digest": digest,
        "bundle.env": "staging",
        "bundle.pointer_version": 1,
        "bundle.arm": "live",
        "request.id": "req-1",
    }
    assert stamp == expected
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes) == expected
    line = json.loads(log.read_text().splitlines()[0])
    assert {k: v for k, v in line.items() if k != "time"} == expected and line["time"].endswith("Z")


def test_every_public_exception_is_exported():
    import bundlectl.runtime as runtime

    exported = {name for name in runtime.__all__ if isinstance(getattr(runtime, name), type) and issubclass(getattr(runtime, name), Exception)}
    assert exported == {"BundlectlError", "FileNotInBundle", "Paused", "RegistryUnavailable"}
