"""Decisions people must hear about: a guard rollback (applied: logged and delivered from the log; not applied: a
notice), and a promotion the gate refused when the command asks to notify."""

from __future__ import annotations

import json
import random

import pytest

from tests.conftest import V1, V2, Workspace
from tests.guard.simulate import Traffic, serve
from tests.helpers import promote
from tests.webhooks.conftest import endpoint, subscribe

ENV = ("support-triage", "--env", "staging")


@pytest.fixture
def registry(git_registry: Workspace) -> Workspace:
    """On git only: the delivery state these rely on is covered on S3 by test_delivery."""
    return git_registry


@pytest.fixture
def canary_regressed(v1_live: Workspace, runtimes, tmp_path):
    """A canary of V2 at 50% whose escalations regressed, with enough traffic for the guard to say rollback."""
    runtime = runtimes(v1_live, follow=False, request_log=tmp_path / "requests.jsonl")
    result = v1_live.run("promote", V2, "--env", "staging", "--canary", "50", "--step-time", "0m")
    assert result.exit_code == 0, result.output
    runtime.refresh()
    serve(runtime, 4000, random.Random(15), Traffic(escalated=0.14))
    v1_live.requests = str(tmp_path / "requests.jsonl")
    return v1_live


def test_a_guard_rollback_is_delivered_signed_whether_applied_or_not(canary_regressed: Workspace, receivers):
    ws = canary_regressed
    receiver = receivers()
    assert subscribe(ws, {"ops": endpoint(receiver, events=["guard.decided"])}).exit_code == 0

    judged = ws.run("guard", *ENV, "--source", ws.requests, "--min-sample", "400", "--json")
    assert judged.exit_code == 1 and json.loads(judged.stdout)["decision"] == "rollback"
    (notice,) = receiver.got
    body = notice.verified()
    assert body["type"] == "guard.decided" and body["data"]["decision"] == "rollback" and body["data"]["applied"] is False
    assert body["data"]["seq"] is None and body["data"]["guard"]["metrics"]
    assert body["data"]["bundle"]["version"] == "2026.11.22-1" and body["data"]["bundle"]["previous"]["version"] == "2026.11.01-1"

    applied = ws.run("guard", *ENV, "--source", ws.requests, "--min-sample", "400", "--apply", "--actor", "guard@example.com")
    assert applied.exit_code == 1, applied.output
    assert len(receiver.got) == 2  # the applied one is a logged act, delivered once, from the log
    logged = receiver.got[1].verified()
    record = ws.json("history", *ENV)["events"][0]
    assert logged["type"] == "canary.rolled_back" and logged["data"]["seq"] == record["seq"]
    assert logged["data"]["guard"]["decision"] == "rollback" and logged["data"]["actor"] == "guard@example.com"
    assert receiver.got[1].headers["webhook-id"] == logged["data"]["record_digest"]
    kinds = [a["by"] for a in ws.json("webhooks", "log")["endpoints"][0]["attempts"]]
    assert kinds == ["notice", "write"]


def test_a_hold_is_no_notice(v1_live: Workspace, receivers, runtimes, tmp_path):
    receiver = receivers()
    subscribe(v1_live, {"ops": endpoint(receiver)})
    runtime = runtimes(v1_live, follow=False, request_log=tmp_path / "requests.jsonl")
    v1_live.run("promote", V2, "--env", "staging", "--canary", "50", "--step-time", "0m")
    runtime.refresh()
    serve(runtime, 100, random.Random(3), Traffic())
    before = len(receiver.got)
    result = v1_live.run("guard", *ENV, "--source", str(tmp_path / "requests.jsonl"), "--min-sample", "400", "--json")
    assert json.loads(result.stdout)["decision"] == "hold"
    assert len(receiver.got) == before


def test_a_refused_promotion_is_a_notice_only_when_asked(v1_live: Workspace, receivers):
    receiver = receivers()
    subscribe(v1_live, {"ops": endpoint(receiver, events=["promotion.refused"])})
    strict = v1_live.root / "strict.yaml"
    strict.write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {eval: {min_cases: 5000, min_pass_rate: 0.8}}}\n")
    assert v1_live.run("policy", "set", str(strict)).exit_code == 0
    quiet = v1_live.run("promote", V2, "--env", "staging")
    assert quiet.exit_code == 1 and receiver.got == []
    told = v1_live.run("promote", V2, "--env", "staging", "--notify", "--reason", "release train")
    assert told.exit_code == 1 and "may not go live in staging" in told.output
    (notice,) = receiver.got
    body = notice.verified()
    assert body["type"] == "promotion.refused" and body["data"]["reason"] == "release train"
    assert body["data"]["gate"]["passed"] is False and body["data"]["bundle"]["env"] == "staging"
    assert v1_live.json("status")["environments"][0]["version"] == "2026.11.01-1"  # refused: nothing moved


def test_promote_after_a_refusal_is_delivered_as_the_act(v1_live: Workspace, receivers):
    receiver = receivers()
    subscribe(v1_live, {"ops": endpoint(receiver, events=["bundle.promoted", "promotion.refused"])})
    promote(v1_live, V2, "staging")
    assert receiver.types() == ["bundle.promoted"]
    assert receiver.got[0].verified()["data"]["bundle"]["previous"]["version"] == V1.split("@")[1]
