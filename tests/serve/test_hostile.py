"""Hostile clients and a hostile shared cache folder against `bundlectl serve`: nothing leaks, hangs or crashes."""

from __future__ import annotations

import hashlib
import os
import socket

import pytest

from tests.serve.conftest import ENV, NAME, V1, V2, wait_until


@pytest.fixture
def large_files(monkeypatch):
    """Every file is a large one: served from its local copy in the cache's blob folder, not from memory."""
    monkeypatch.setattr("bundlectl.runtime.files.IN_MEMORY_MAX", 100)


@pytest.mark.parametrize("swap", ["symlink", "fifo", "same size"])
def test_a_blob_swapped_in_the_shared_cache_is_never_served(live, servers, large_files, tmp_path, swap):
    cache = tmp_path / "serve-cache"
    running = servers(live, cache_dir=cache)
    digest = live.json("show", V1)["digest"]
    url = f"/v1/bundles/{digest}/files/runbook.md"
    expected = (live.root / "bundles/support-triage-v1/runbook.md").read_bytes()
    whole = running.call("GET", url)
    assert whole.status == 200 and whole.body == expected  # from the verified copy
    blob = cache / "blobs" / hashlib.sha256(expected).hexdigest()
    secret = tmp_path / "secret"
    secret.write_bytes(b"TOP-SECRET " * 1000)
    blob.unlink()  # another process with write access to the folder replaces the copy
    if swap == "symlink":
        blob.symlink_to(secret)
    elif swap == "fifo":
        os.mkfifo(blob)
    else:
        blob.write_bytes(b"X" * len(expected))
    for headers in ({}, {"Range": "bytes=0-99"}):
        answer = running.call("GET", url, headers=headers)
        assert answer.status == 503 and b"SECRET" not in answer.body and b"XXX" not in answer.body
        assert "no longer matches its digest" in answer.json()["errorDetails"]
    assert running.call("GET", "/healthz").status == 200  # a FIFO was not waited on: the server still answers


def test_a_targeting_key_with_a_lone_surrogate_is_routed_during_a_canary(served):
    ws, running = served
    assert ws.run("promote", V2, "--env", ENV, "--canary", "50", "--step-time", "0m").exit_code == 0
    wait_until(lambda: running.evaluate(targeting_key="user-1").json()["reason"] == "SPLIT", 1.5)
    body = b'{"context": {"targetingKey": "\\ud800x"}}'  # valid JSON; not encodable as UTF-8
    first = running.call("POST", f"/ofrep/v1/evaluate/flags/{NAME}", data=body)
    assert first.status == 200 and first.json()["reason"] == "SPLIT"
    assert running.call("POST", f"/ofrep/v1/evaluate/flags/{NAME}", data=body).json() == first.json()  # sticky
    assert running.call("POST", "/ofrep/v1/evaluate/flags", data=body).status == 200
    digest = first.json()["value"]["digest"]
    outcome = b'{"outcomes": [{"key": "%s", "targetingKey": "\\ud800x", "digest": "%s", "outcome": {"ok": true}}]}' % (NAME.encode(), digest.encode())
    assert running.call("POST", "/v1/outcomes", data=outcome).status == 202
    assert running.server.fleet.runtimes[NAME].current("\ud800x").digest == digest  # in process too


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("bytes=" + "9" * 5000 + "-", 416),
        ("bytes=-" + "9" * 5000, 200),
        ("bytes=0-" + "9" * 5000, 200),
        ("bytes=" + "0" * 5000 + "5-9", 206),
    ],
)
def test_a_range_of_thousands_of_digits_is_answered(served, header, status):
    ws, running = served
    digest = ws.json("show", V1)["digest"]
    expected = (ws.root / "bundles/support-triage-v1/runbook.md").read_bytes()
    answer = running.call("GET", f"/v1/bundles/{digest}/files/runbook.md", headers={"Range": header})
    assert answer.status == status
    assert answer.body == {416: answer.body, 200: expected, 206: expected[5:10]}[status]


def test_bodies_that_never_arrive_hold_no_slot_for_long_and_probes_always_answer(served):
    ws, running = served
    app = running.server.app
    app.max_in_flight, app.body_timeout = 3, 0.5
    port = int(running.url.rsplit(":", 1)[1])
    slow = []
    for _ in range(3):  # each declares a body and sends one byte of it (slowloris)
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sendall(f"POST /ofrep/v1/evaluate/flags/{NAME} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{".encode())
        slow.append(connection)
    wait_until(lambda: app.in_flight == 3, 5)
    assert running.evaluate().status == 429  # every slot taken ...
    assert running.call("GET", "/healthz").status == 200 and running.call("GET", "/readyz").status == 200  # ... not the probes'
    for connection in slow:  # each is answered 408 at its deadline and closed
        reply = b""
        while chunk := connection.recv(4096):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 408") and b"did not arrive within 0.5 s" in reply
        connection.close()
    assert app.in_flight == 0 and running.evaluate().status == 200
    assert running.server.settings.request_log.read_text() == ""  # nothing was written


def test_a_new_metric_name_in_every_outcome_is_refused_past_the_bound(served):
    from bundlectl.serve.outcomes import MAX_METRIC_NAMES

    ws, running = served
    digest = running.evaluate().json()["value"]["digest"]

    def batch(first: int, count: int) -> dict:
        return {"outcomes": [{"key": NAME, "digest": digest, "outcome": {f"m{first + i}": 1}} for i in range(count)]}

    assert running.call("POST", "/v1/outcomes", batch(0, MAX_METRIC_NAMES)).status == 202  # a bound no real service reaches
    log_before = running.server.settings.request_log.read_bytes()
    metrics_before = running.call("GET", "/metrics").body
    refused = running.call(
        "POST",
        "/v1/outcomes",
        {"outcomes": [{"key": NAME, "digest": digest, "outcome": {"ok": True}}, *batch(MAX_METRIC_NAMES, 1000 - 1)["outcomes"]]},
    )
    assert refused.status == 400 and f"at most {MAX_METRIC_NAMES} are kept" in refused.json()["errorDetails"]
    assert running.server.settings.request_log.read_bytes() == log_before  # nothing of the batch was written
    assert running.call("GET", "/metrics").body == metrics_before  # nor counted
    known = {"outcomes": [{"key": NAME, "digest": digest, "outcome": {"m0": 2, "m1": 3}}]}
    assert running.call("POST", "/v1/outcomes", known).status == 202  # names already counted stay welcome
