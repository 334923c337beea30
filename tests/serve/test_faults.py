"""Faults: a registry that hangs, a server killed with -9 and restarted on its cache, bodies far past any limit.

Time bounds are "did not hang" bounds: an evaluation that waited on the registry would take its timeout
(0.5 s here) or more, not milliseconds.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.runtime.blackhole import BlackHoleProxy
from tests.serve.conftest import ENV, NAME, free_port, wait_until

HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture
def hole(s3_endpoint: str) -> Iterator[BlackHoleProxy]:
    proxy = BlackHoleProxy(s3_endpoint)
    yield proxy
    proxy.close()


def latencies(url: str, n: int) -> list[float]:
    """Seconds per evaluation over one keep-alive connection, sorted."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    body = json.dumps({"context": {"targetingKey": "user-1"}})
    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        connection.request("POST", f"/ofrep/v1/evaluate/flags/{NAME}", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["variant"] == "2026.11.01-1"
        seconds.append(time.perf_counter() - started)
    connection.close()
    return sorted(seconds)


@pytest.mark.parametrize("registry", ["s3"], indirect=True)  # the outage is a network one
def test_evaluations_keep_answering_while_the_registry_hangs(v1_live, hole, servers):
    running = servers(v1_live, endpoint_url=hole.url, timeout=0.5, poll_interval=0.2)
    before = latencies(running.url, 300)
    hole.black_hole()
    during = latencies(running.url, 300)
    p99 = during[int(len(during) * 0.99)]
    assert p99 < 0.1, (p99, before[int(len(before) * 0.99)])  # far below the registry timeout: nothing waited on it
    # the runtime did try the hanging registry, in the background, and says so
    wait_until(lambda: NAME in running.call("GET", "/readyz").json().get("problems", {}), 5)
    ready = running.call("GET", "/readyz").json()
    assert ready["ready"] is True and "still serving 2026.11.01-1" in ready["problems"][NAME]


@pytest.mark.parametrize("registry", ["s3"], indirect=True)
def test_killed_and_restarted_with_a_cache_it_is_ready_before_the_registry_answers(v1_live, hole, tmp_path):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bundlectl",
        "serve",
        NAME,
        "--env",
        ENV,
        "--listen",
        f"127.0.0.1:{port}",
        "--endpoint-url",
        hole.url,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--poll-interval",
        "0.2",
    ]
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except OSError:
            return False

    first = subprocess.Popen(command, cwd=v1_live.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(ready, 30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    hole.black_hole()  # the registry hangs from now on
    second = subprocess.Popen(command, cwd=v1_live.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(ready, 30)
        assert latencies(url, 5)  # evaluations answer with the cached, verified V1
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/readyz")
        problem = json.loads(connection.getresponse().read())["problems"][NAME]
        assert "still serving 2026.11.01-1 (pointer version 1) from the cache" in problem, problem
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)


def raw_post(port: int, head: str, chunks: Iterator[bytes]) -> bytes:
    """Send a request's head then its body until the server answers or closes; what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        answer = b""
        for chunk in chunks:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            try:
                sock.sendall(chunk)
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        while b"\r\n\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
        return answer


def megabytes(total: int, chunked: bool) -> Iterator[bytes]:
    block = b"x" * (1024 * 1024)
    for _ in range(total // len(block)):
        yield b"100000\r\n" + block + b"\r\n" if chunked else block


@pytest.mark.parametrize("chunked", [False, True])
def test_a_100_mb_body_is_refused_without_being_read(served, chunked):
    ws, running = served
    port = int(running.url.rsplit(":", 1)[1])
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUNDRED_MB}"
    head = f"POST /v1/outcomes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{length}\r\n\r\n"
    answer = raw_post(port, head, megabytes(HUNDRED_MB, chunked))
    assert answer.startswith(b"HTTP/1.1 413 ")
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert json.loads(body[: body.index(b"}") + 1]) == {"errorCode": "PARSE_ERROR", "errorDetails": "the request body is larger than 1048576 bytes"}
    assert running.server.settings.request_log.read_text() == ""  # nothing recorded
    assert running.call("GET", "/healthz").status == 200 and running.evaluate().status == 200
    assert os.getpid()  # the server runs in this process: it is still here


@pytest.mark.parametrize("registry", ["s3"], indirect=True)
def test_without_a_registry_or_a_cache_it_is_alive_but_not_ready(v1_live, hole):
    from tests.serve.conftest import start_server

    hole.black_hole()
    running = start_server(v1_live, endpoint_url=hole.url, timeout=0.3, startup_timeout=0.3)
    try:
        assert running.call("GET", "/healthz").status == 200
        wait_until(lambda: running.call("GET", "/readyz").json().get("waiting", {}).get(NAME, "starting") != "starting", 10)
        ready = running.call("GET", "/readyz")
        assert ready.status == 503 and "no verified bundle of support-triage in staging" in ready.json()["waiting"][NAME]
        answer = running.evaluate()
        assert answer.status == 503 and answer.headers["retry-after"] == "1"
        hole.forward()  # the registry answers again: the server becomes ready without a restart
        try:
            wait_until(lambda: running.call("GET", "/readyz").status == 200, 15)
        except AssertionError:
            raise AssertionError(running.call("GET", "/readyz").json()) from None
        assert running.evaluate().json()["variant"] == "2026.11.01-1"
    finally:
        running.stop()
