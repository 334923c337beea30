"""The guard against a real Prometheus (Debian's `prometheus`) scraping the real example app (examples/serve.py).

The fixture starts both on 127.0.0.1 with free ports: the app serves a canary with an injected regression and
exposes its outcome counters; Prometheus scrapes them every second; the guard queries its HTTP API.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, V2, Workspace

PROMETHEUS = shutil.which("prometheus")
REQUESTS = 3000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, ready, within: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if ready(response.read()):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} was not ready within {within} s")


def query(prometheus: str, expression: str) -> list:
    address = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
    with urllib.request.urlopen(address, timeout=5) as response:
        return json.loads(response.read())["data"]["result"]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def canary_under_prometheus(v1_live: Workspace, tmp_path: Path) -> Iterator[tuple[Workspace, str, Path]]:
    """V2 a 50% canary beside V1 with more escalations, served by the example app and scraped by Prometheus."""
    if PROMETHEUS is None:  # the README's test command is .ci/run, which installs it: a missing binary fails, never skips
        pytest.fail(
            "the prometheus binary is not installed: `apt-get install prometheus` (Debian), as .ci/run does when "
            "run as root, or put a prometheus binary on PATH"
        )
    result = v1_live.run("promote", V2, "--env", "staging", "--canary", "50", "--step-time", "0m")
    assert result.exit_code == 0, result.output
    app_port, prometheus_port = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: support-triage, static_configs: [{{targets: ['127.0.0.1:{app_port}']}}]}}\n"
    )
    log = tmp_path / "requests.jsonl"
    app = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "examples/serve.py"),
            "--env",
            "staging",
            "--requests",
            str(REQUESTS),
            "--seed",
            "15",
            "--metrics-port",
            str(app_port),
            "--linger",
            "120",
            "--quiet",
            "--request-log",
            str(log),
            "--inject-regression",
            "escalation",
        ],
        cwd=v1_live.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    prometheus = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{prometheus_port}"
    try:
        wait_for(f"{url}/-/ready", lambda body: True, 60)
        served = "sum(bundlectl_requests_total)"
        wait_for(
            f"{url}/api/v1/query?{urllib.parse.urlencode({'query': served})}",
            lambda body: [float(r["value"][1]) for r in json.loads(body)["data"]["result"]] == [REQUESTS],
            90,
        )
        yield v1_live, url, log
    finally:
        stop(app)
        stop(prometheus)


def test_the_guard_reads_prometheus_and_rolls_the_regression_back(canary_under_prometheus):
    ws, url, log = canary_under_prometheus
    requests = query(url, 'sum by (bundle_arm) (bundlectl_requests_total{bundle_name="support-triage"})')
    assert {r["metric"]["bundle_arm"] for r in requests} == {"live", "candidate"}

    args = ("guard", "support-triage", "--env", "staging", "--min-sample", "400", "--json")
    from_prometheus = ws.run(*args, "--prometheus", url)
    assert from_prometheus.exit_code == 1, from_prometheus.output
    report = json.loads(from_prometheus.stdout)
    assert report["decision"] == "rollback" and report["source"] == url
    assert sum(report["samples"].values()) == REQUESTS
    escalated = next(m for m in report["metrics"] if m["name"] == "escalated")
    assert escalated["verdict"] == "regression" and escalated["candidate"] > escalated["live"]

    from_log = json.loads(ws.run(*args, "--source", str(log)).stdout)  # the same requests, read from the app's log
    assert from_log["samples"] == report["samples"] and from_log["decision"] == "rollback"
    by_name = {m["name"]: m for m in from_log["metrics"]}
    for metric in report["metrics"]:
        assert metric["live"] == pytest.approx(by_name[metric["name"]]["live"], rel=1e-9)

    applied = ws.run("guard", "support-triage", "--env", "staging", "--min-sample", "400", "--prometheus", url, "--apply")
    assert applied.exit_code == 1 and "applied: canary-rollback" in applied.output
    event = ws.json("history", "support-triage", "--env", "staging")["events"][0]
    assert event["action"] == "canary-rollback" and event["guard"]["source"] == url
