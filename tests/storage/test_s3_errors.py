"""S3 answers that the storage handles itself (404, 304, 412, 403) never reach the CLI as private exceptions."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bundlectl.errors import BundlectlError, Conflict, NotFound
from bundlectl.storage.base import UNCHANGED, PointerUpdate, Unchanged
from bundlectl.storage.s3 import S3Storage, _Missing, _NotModified, _PreconditionFailed
from tests.conftest import V1, Workspace, use_s3


@pytest.fixture
def s3(workspace: Workspace, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    use_s3(monkeypatch, s3_endpoint)
    workspace.backend = "s3"
    assert workspace.run("init").exit_code == 0
    return workspace


def storage_of(ws: Workspace) -> S3Storage:
    storage = ws.storage()
    assert isinstance(storage, S3Storage)
    return storage


def put_raw(storage: S3Storage, key: str, body: bytes) -> None:
    storage.client.put_object(Bucket=storage.bucket, Key=key, Body=body)


def one_error(result: Any, code: int, *texts: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2 and all(line.startswith("hint: ") for line in lines[1:])
    assert "internal error" not in result.stderr and "Traceback" not in result.output
    for text in texts:
        assert text in lines[0], lines[0]


def test_an_answer_the_caller_did_not_ask_for_leaves_as_a_public_error(s3: Workspace):
    storage = storage_of(s3)
    key = storage._key("objects", "reports/abc")
    storage.put_object("reports/abc", b"first")
    etag = storage.client.head_object(Bucket=storage.bucket, Key=key)["ETag"]
    # 412: a conditional create of an existing key
    with pytest.raises(_PreconditionFailed) as handled:
        storage._call("put_object", (_PreconditionFailed,), Key=key, Body=b"second", IfNoneMatch="*")
    assert not isinstance(handled.value, BundlectlError)
    with pytest.raises(Conflict, match="reports/abc was changed by another writer"):
        storage._call("put_object", Key=key, Body=b"second", IfNoneMatch="*")
    # 404: a key or an upload that is not there
    with pytest.raises(_Missing):
        storage._call("get_object", (_Missing,), Key=key + "-gone")
    with pytest.raises(NotFound, match="reports/abc-gone was not found"):
        storage._call("get_object", Key=key + "-gone")
    with pytest.raises(NotFound, match="NoSuchUpload"):
        storage._call("abort_multipart_upload", Key=key, UploadId="no-such-upload")
    # 304: a conditional read of an unchanged key
    with pytest.raises(_NotModified):
        storage._call("get_object", (_NotModified,), Key=key, IfNoneMatch=etag)
    with pytest.raises(BundlectlError, match="304"):
        storage._call("get_object", Key=key, IfNoneMatch=etag)
    assert storage.get_object("reports/abc") == b"first"


def test_read_pointer_if_changed_answers_with_the_enum_sentinel(s3: Workspace):
    storage = storage_of(s3)
    head = storage.log_head()
    storage.append_event(b'{"test": 1}', "test", head, [PointerUpdate("envs/demo/staging", None, b"one")])
    pointer = storage.read_pointer("envs/demo/staging")
    assert pointer is not None and pointer.value == b"one"
    unchanged = storage.read_pointer_if_changed("envs/demo/staging", pointer.token)
    assert unchanged is UNCHANGED and isinstance(unchanged, Unchanged)
    assert storage.read_pointer_if_changed("envs/demo/staging", '"another-etag"') == pointer
    assert storage.read_pointer_if_changed("envs/demo/production", '"any-etag"') is None


def test_a_damaged_head_or_log_record_is_an_integrity_failure(s3: Workspace):
    storage = storage_of(s3)
    assert s3.run("register", "bundles/support-triage-v1").exit_code == 0
    head_key = storage._key("head.json")
    original = storage.client.get_object(Bucket=storage.bucket, Key=head_key)["Body"].read()
    put_raw(storage, head_key, b"not json")
    one_error(s3.run("list"), 5, f"s3://{storage.bucket}/{head_key}", "damaged")
    put_raw(storage, head_key, b'{"seq": 1, "id": "not-an-event-id"}')
    one_error(s3.run("status"), 5, "head.json is damaged")
    put_raw(storage, head_key, original)
    assert s3.run("verify").exit_code == 0
    record_key = storage._log_key(1)
    put_raw(storage, record_key, b'{"payload": 7}')
    one_error(s3.run("verify"), 5, f"s3://{storage.bucket}/{record_key} is damaged")


class _ReadOnly:
    """Answers every write with S3's 403 AccessDenied, as read-only credentials get."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            return self.app(environ, start_response)
        body = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>read only</Message></Error>'
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture
def read_only_endpoint() -> Iterator[str]:
    """A second endpoint on the same in-process moto backend that refuses every write."""
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _ReadOnly(DomainDispatcherApplication(create_backend_app)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_read_only_credentials_read_and_are_refused_writes(s3: Workspace, read_only_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    assert s3.run("register", "bundles/support-triage-v1").exit_code == 0
    storage = storage_of(s3)
    # as if the writer died before advancing head.json: a reader rolls forward, or would if it could write
    storage.client.delete_object(Bucket=storage.bucket, Key=storage._key("head.json"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", read_only_endpoint)
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", os.environ["BUNDLECTL_CACHE_DIR"] + "-reader")
    listed = s3.json("list")
    assert [b["version"] for b in listed["bundles"]] == [V1.split("@")[1]]
    one_error(s3.run("register", "bundles/support-triage-v2"), 1, "access denied to s3://")
