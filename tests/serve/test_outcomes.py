"""Outcomes from any language: recorded by the server under its own routing, judged by `bundlectl guard` unchanged."""

from __future__ import annotations

import json

import pytest

from tests.serve.clients import node
from tests.serve.conftest import ENV, NAME, V2, wait_until

OK = {"ok": True, "escalated": False, "latency_ms": 640}


@pytest.fixture
def canary(served):
    ws, running = served
    assert ws.run("promote", V2, "--env", ENV, "--canary", "50", "--step-time", "0m").exit_code == 0
    wait_until(lambda: running.evaluate(targeting_key="user-1").json()["reason"] == "SPLIT", 1.5)
    return ws, running


def routed(running, key: str) -> dict:
    return running.evaluate(targeting_key=key).json()["value"]


def log_lines(running) -> list[dict]:
    path = running.server.settings.request_log
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_node_service_records_a_regression_and_the_guard_rolls_the_canary_back(canary):
    ws, running = canary
    served = node("outcomes", running.url, "1600")["served"]
    assert min(served.values()) > 600  # both arms served, about half each
    lines = log_lines(running)
    assert len(lines) == 1600 and {line["bundle.arm"] for line in lines} == {"live", "candidate"}
    args = ("guard", NAME, "--env", ENV, "--min-sample", "400", "--source", str(running.server.settings.request_log))
    judged = ws.run(*args, "--json")
    assert judged.exit_code == 1, judged.output  # a rollback decision
    report = json.loads(judged.stdout)
    assert report["decision"] == "rollback" and sum(report["samples"].values()) == 1600
    escalated = next(m for m in report["metrics"] if m["name"] == "escalated")
    assert escalated["verdict"] == "regression" and escalated["candidate"] > escalated["live"]
    applied = ws.run(*args, "--apply")
    assert applied.exit_code == 1 and "applied: canary-rollback" in applied.output
    metrics = running.call("GET", "/metrics").body.decode()
    assert 'bundlectl_requests_total{bundle_arm="candidate"' in metrics and "bundlectl_outcome_sum_total" in metrics
    wait_until(lambda: running.evaluate(targeting_key="user-1").json()["reason"] == "STATIC", 1.5)


def test_the_server_records_under_its_own_routing_with_the_stamp_of_the_bundle(canary):
    ws, running = canary
    value = routed(running, "user-9")
    answer = running.call(
        "POST",
        "/v1/outcomes",
        {"outcomes": [{"key": NAME, "requestId": "r-1", "targetingKey": "user-9", "digest": value["digest"], "outcome": {**OK, "csat": 4}}]},
    )
    assert (answer.status, answer.json()) == (202, {"recorded": 1})
    (line,) = log_lines(running)
    assert line["request.id"] == "r-1" and line["bundle.arm"] == value["arm"] and line["bundle.digest"] == value["digest"]
    assert line["outcome"] == {**OK, "csat": 4} and line["bundle.canary"] == value["canary"]


def test_a_forged_arm_or_digest_is_refused_and_nothing_is_recorded(canary):
    ws, running = canary
    keys = [f"user-{i}" for i in range(40)]
    live_key = next(k for k in keys if routed(running, k)["arm"] == "live")
    candidate = next(routed(running, k) for k in keys if routed(running, k)["arm"] == "candidate")
    good = {"key": NAME, "requestId": "r-1", "targetingKey": live_key, "digest": routed(running, live_key)["digest"], "outcome": OK}
    forged_arm = {**good, "arm": "candidate"}
    forged_digest = {**good, "digest": candidate["digest"]}  # the candidate's digest for a key routed to live
    for batch, status, words in (
        ([good, forged_arm], 403, "arm 'candidate' is not the arm this server routes"),
        ([forged_digest], 409, "is not the bundle this server routes that targetingKey to"),
    ):
        answer = running.call("POST", "/v1/outcomes", {"outcomes": batch})
        assert answer.status == status and words in answer.json()["errorDetails"]
        assert answer.json()["errorCode"] == "INVALID_CONTEXT" and "nothing was recorded" in answer.json()["errorDetails"]
    assert log_lines(running) == [] and "bundlectl_requests_total{" not in running.call("GET", "/metrics").body.decode()


@pytest.mark.parametrize(
    ("item", "status", "words"),
    [
        ({"outcome": {"ok": "yes"}}, 400, "ok='yes' is not a bool or a finite number"),
        ({"outcome": {"latency_ms": -4}}, 400, "latency_ms=-4 cannot be a recorded latency_ms"),
        ({"outcome": {"escalated": 5}}, 400, "escalated=5 cannot be a recorded escalated"),
        ({"outcome": {"bundle": 1}}, 400, "'bundle' is not a metric name"),
        ({"outcome": {}}, 400, "outcome must be a JSON object of 1 to 32 metrics"),
        ({"outcome": {"ok": None}}, 400, "outcome has no value"),
        ({"key": "other-bundle"}, 404, "flag 'other-bundle' is not served here"),
        ({"targetingKey": 7}, 400, "targetingKey must be a non-empty string"),
        ({"surprise": 1}, 400, "unknown fields ['surprise']"),
    ],
)
def test_an_outcome_record_refuses_is_refused_here_with_nothing_written(served, item, status, words):
    ws, running = served
    value = routed(running, "user-1")
    good = {"key": NAME, "targetingKey": "user-1", "digest": value["digest"], "outcome": OK}
    answer = running.call("POST", "/v1/outcomes", {"outcomes": [good, {**good, **item}]})
    assert answer.status == status, answer.body
    assert words in answer.json()["errorDetails"] and answer.json()["errorDetails"].startswith("outcomes[1]: ")
    assert log_lines(running) == []
