"""S3 specifics over HTTP against moto's standalone server: errors, multipart, conditional writes, tampering, copy."""

import hashlib
import http.server
import json
import os
import socket
import threading
from pathlib import Path

import boto3
import pytest

from bundlectl.storage.base import FileToStore, LogMoved
from bundlectl.storage.s3 import MULTIPART_THRESHOLD, PART_SIZE, S3Storage
from tests.conftest import V1, V2, Workspace, use_s3
from tests.helpers import add, promote, promptfoo_report, set_policy


@pytest.fixture
def s3(workspace: Workspace, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    use_s3(monkeypatch, s3_endpoint)
    workspace.backend = "s3"
    return workspace


def one_line_error(result, text: str, code: int) -> None:
    assert result.exit_code == code, result.output
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) <= 2


def test_missing_bucket(s3: Workspace, monkeypatch):
    monkeypatch.setenv("BUNDLECTL_REGISTRY", "s3://no-such-bucket-here/registry")
    one_line_error(s3.run("init"), "bucket no-such-bucket-here does not exist", 4)
    one_line_error(s3.run("list"), "bucket no-such-bucket-here does not exist", 4)


def test_unreachable_endpoint(s3: Workspace, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    one_line_error(s3.run("list", "--endpoint-url", f"http://127.0.0.1:{port}"), f"cannot reach the S3 endpoint http://127.0.0.1:{port}", 1)


def test_no_credentials(s3: Workspace, monkeypatch, tmp_path: Path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    one_line_error(s3.run("list"), "no AWS credentials found", 1)


class CannedS3(http.server.BaseHTTPRequestHandler):
    """Answers every request with one S3 error document, as AWS does for IAM denials and expired tokens."""

    status, code = 403, "AccessDenied"

    def _answer(self) -> None:
        body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code><Message>canned</Message></Error>'.encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize(
    "status,code,text",
    [
        (403, "AccessDenied", "access denied to s3://"),
        (400, "ExpiredToken", "AWS credentials for s3://"),
        (403, "InvalidAccessKeyId", "AWS credentials were rejected"),
    ],
)
def test_denied_and_expired(s3: Workspace, monkeypatch, status: int, code: str, text: str):
    handler = type("Handler", (CannedS3,), {"status": status, "code": code})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
        one_line_error(s3.run("list"), text, 1)
    finally:
        server.shutdown()


def test_large_files_use_multipart_and_are_not_uploaded_twice(s3: Workspace, tmp_path: Path):
    storage = S3Storage(os.environ["BUNDLECTL_REGISTRY"])
    calls: list[str] = []
    storage.client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    big = tmp_path / "index.bin"
    big.write_bytes(os.urandom(1024 * 1024) * (MULTIPART_THRESHOLD // (1024 * 1024) * 2 + 3))
    key = "blobs/" + hashlib.sha256(big.read_bytes()).hexdigest()
    seen = []
    storage.put_files({key: FileToStore(big, key.split("/")[1])}, seen.append)
    assert calls.count("UploadPart") == -(-big.stat().st_size // PART_SIZE) and "CompleteMultipartUpload" in calls
    assert sum(seen) == big.stat().st_size
    assert hashlib.sha256(storage.get_object(key)).hexdigest() == key.split("/")[1]
    calls.clear()
    storage.put_files({key: FileToStore(big, key.split("/")[1])}, seen.append)
    assert "UploadPart" not in calls and "PutObject" not in calls  # the registry already holds that digest


def test_objects_are_never_overwritten(s3: Workspace):
    storage = S3Storage(os.environ["BUNDLECTL_REGISTRY"])
    storage.put_object("reports/abc", b"first")
    storage.put_object("reports/abc", b"second")
    assert storage.get_object("reports/abc") == b"first"


def test_a_lost_response_is_not_an_overwrite_or_a_duplicate(s3: Workspace):
    assert s3.run("init").exit_code == 0
    storage = S3Storage(os.environ["BUNDLECTL_REGISTRY"])
    head = storage.log_head()
    record = json.loads(storage.client.get_object(Bucket=storage.bucket, Key=storage._log_key(1))["Body"].read())
    payload = record["payload"].encode()
    # the same write arriving twice (a retry after a lost response) is recognised as ours
    assert storage.append_event(payload, record["summary"], None, []) == storage.events_after(None, head)[0].id
    with pytest.raises(LogMoved):  # a different record at that position is someone else's: never overwritten
        storage.append_event(payload.replace(b'"init"', b'"inix"'), "forged", None, [])
    after = json.loads(storage.client.get_object(Bucket=storage.bucket, Key=storage._log_key(1))["Body"].read())
    assert after == record


@pytest.fixture
def s3_history(s3: Workspace) -> Workspace:
    assert s3.run("init").exit_code == 0
    for folder in ("bundles/support-triage-v1", "bundles/support-triage-v2"):
        assert s3.run("register", folder).exit_code == 0
    set_policy(s3, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(s3, V1, promptfoo_report(s3, "v1"))
    add(s3, V2, promptfoo_report(s3, "v2"))
    promote(s3, V1, "staging")
    promote(s3, V2, "staging")
    assert s3.run("verify").exit_code == 0
    return s3


def log_record(storage: S3Storage, seq: int) -> dict:
    return json.loads(storage.client.get_object(Bucket=storage.bucket, Key=storage._log_key(seq))["Body"].read())


def put_raw(storage: S3Storage, key: str, body: bytes) -> None:
    storage.client.put_object(Bucket=storage.bucket, Key=key, Body=body)  # unconditional: what an attacker would do


def test_tampering_with_a_log_record_on_s3(s3_history: Workspace):
    storage = S3Storage(os.environ["BUNDLECTL_REGISTRY"])
    record = log_record(storage, 6)
    payload = json.loads(record["payload"])
    payload["actor"] = "mallory@example.com"  # a field nothing re-derives: only the hash chain can tell
    from bundlectl.digest.canonical import canonical_json

    record["payload"] = canonical_json(payload).decode()
    put_raw(storage, storage._log_key(6), json.dumps(record).encode())
    result = s3_history.run("verify")
    assert result.exit_code == 5 and "log record seq 7" in result.stderr and "edited, dropped or reordered" in result.stderr


def test_dropping_and_reordering_on_s3(s3_history: Workspace):
    storage = S3Storage(os.environ["BUNDLECTL_REGISTRY"])
    five, six = log_record(storage, 5), log_record(storage, 6)
    put_raw(storage, storage._log_key(5), json.dumps(six).encode())
    put_raw(storage, storage._log_key(6), json.dumps(five).encode())
    assert s3_history.run("verify").exit_code == 5
    storage.client.delete_object(Bucket=storage.bucket, Key=storage._log_key(4))
    result = s3_history.run("verify")
    assert result.exit_code in (4, 5) and "Traceback" not in result.output


def test_pointer_and_object_tampering_on_s3(s3_history: Workspace):
    storage = S3Storage(os.environ["BUNDLECTL_REGISTRY"])
    key = storage._key("pointers", "envs/support-triage/staging")
    original = storage.client.get_object(Bucket=storage.bucket, Key=key)["Body"].read()
    put_raw(storage, key, original.replace(b'"pointer_version":2', b'"pointer_version":7'))
    result = s3_history.run("verify")
    assert result.exit_code == 5 and "pointer envs/support-triage/staging says" in result.stderr
    put_raw(storage, key, original)
    blob = storage._key("objects", storage.all_object_keys()[0])
    put_raw(storage, blob, b"not the original bytes")
    result = s3_history.run("verify")
    assert result.exit_code == 5 and "does not match its digest" in result.stderr


def test_copy_git_to_s3_and_back_keeps_history(git_registry: Workspace, s3_endpoint: str, monkeypatch, tmp_path: Path):
    ws = git_registry
    for folder in ("bundles/support-triage-v1", "bundles/support-triage-v2"):
        assert ws.run("register", folder).exit_code == 0
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    promote(ws, V1, "staging")
    history = ws.json("history", "support-triage", "--env", "staging")
    bucket = use_s3(monkeypatch, s3_endpoint)
    monkeypatch.delenv("BUNDLECTL_REGISTRY")
    target = f"s3://{bucket}/registry"
    result = ws.run("registry", "copy", "--migrate", str(ws.root), target)
    assert result.exit_code == 0 and "copied 7 events" in result.output, result.output
    assert ws.run("verify", "--registry", target).exit_code == 0
    assert ws.run("verify").exit_code == 0
    assert ws.json("history", "support-triage", "--env", "staging", "--registry", target) == history
    again = ws.run("registry", "copy", "--migrate", str(ws.root), target)
    assert "copied 0 events" in again.output and "(7 were already there)" in again.output
    retired = ws.run("approve", V1, "--env", "staging", "--actor", "bob@example.com")  # the source was migrated
    assert retired.exit_code == 1 and f"this registry was retired at seq 8: it was migrated to {target}" in retired.stderr
    assert ws.run("approve", V1, "--env", "staging", "--actor", "carol@example.com", "--registry", target).exit_code == 0
    head = ws.storage().log_head()
    refused = ws.run("registry", "copy", "--migrate", str(ws.root), target)  # the target has an event the source lacks
    assert refused.exit_code == 1 and "holds a different history" in refused.stderr
    assert ws.storage().log_head() == head
    back = tmp_path / "back.git"
    assert ws.run("registry", "copy", target, str(back)).exit_code == 0
    assert ws.run("verify", "--registry", str(back)).exit_code == 0


def test_endpoint_url_option(s3: Workspace, s3_endpoint: str, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert s3.run("init", "--endpoint-url", s3_endpoint).exit_code == 0
    assert s3.json("list", "--endpoint-url", s3_endpoint) == {"bundles": []}


class _IgnoreConditions:
    """Strips If-None-Match / If-Match before moto sees them: a store without conditional writes."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        environ.pop("HTTP_IF_NONE_MATCH", None)
        environ.pop("HTTP_IF_MATCH", None)
        return self.app(environ, start_response)


def test_an_endpoint_without_conditional_writes_is_refused(s3: Workspace, monkeypatch):
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _IgnoreConditions(DomainDispatcherApplication(create_backend_app)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        boto3.client("s3").create_bucket(Bucket="no-conditions")
        monkeypatch.setenv("BUNDLECTL_REGISTRY", "s3://no-conditions/registry")
        result = s3.run("init")
        one_line_error(result, "ignores If-None-Match and If-Match", 1)
        assert "Traceback" not in result.output
    finally:
        server.shutdown()
