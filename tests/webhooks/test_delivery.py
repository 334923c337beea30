"""Deliveries to real receivers on loopback, each verified with the `standardwebhooks` library (on git and S3 where state
is stored: formats, outages, secrets, concurrent deliverers; the rest on git)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy
from tests.webhooks.conftest import OTHER_SECRET, SECRET, Receiver, endpoint, subscribe

STAGING = "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n"


def ready(ws: Workspace) -> None:
    set_policy(ws, STAGING)
    add(ws, V1, promptfoo_report(ws, "v1"))
    add(ws, V2, promptfoo_report(ws, "v2"))


def deliver_until_caught_up(ws: Workspace, attempts: int = 40) -> dict:
    """`webhooks deliver` until every endpoint has acknowledged the head (backoffs in tests are tens of ms)."""
    for _ in range(attempts):
        result = ws.run("webhooks", "deliver", "--json", "--timeout", "5")
        assert result.exit_code == 0, result.output
        done = json.loads(result.stdout)
        if all(e["acked_seq"] >= done["head_seq"] or e["disabled"] for e in done["endpoints"]):
            return done
        time.sleep(0.1)
    raise AssertionError(f"not caught up: {done}")


def test_a_promote_arrives_signed_in_each_format(registered: Workspace, receivers, monkeypatch):
    standard, cloud, slack = receivers(), receivers(), receivers()
    monkeypatch.setenv("SLACK_URL", slack.url)
    ready(registered)
    subscribe(
        registered,
        {
            "ops": endpoint(standard, events=["bundle.promoted"], link="https://reports.example.com/{name}/{version}?env={env}"),
            "deploys": {"url": cloud.url, "format": "cloudevents", "secret": {"env": "OTHER_SECRET"}, "events": ["bundle.*"]},
            "chat": {"url": {"env": "SLACK_URL"}, "format": "slack", "events": ["bundle.promoted"], "link": "https://r/{name}"},
        },
    )
    promote(registered, V1, "staging")

    (delivery,) = standard.got  # the quick attempt of the promote itself delivered it
    body = delivery.verified()
    record = registered.json("history", "support-triage", "--env", "staging")["events"][0]
    assert body["type"] == "bundle.promoted"
    assert delivery.headers["webhook-id"] == body["data"]["record_digest"]
    assert body["data"]["seq"] == record["seq"] and body["data"]["action"] == "promote"
    assert body["data"]["bundle"] == {
        "name": "support-triage",
        "version": "2026.11.01-1",
        "digest": record["to_digest"],
        "env": "staging",
        "previous": None,
    }
    assert body["data"]["actor"] == "tester@example.com" and body["data"]["signed"] is False
    assert body["data"]["gate"]["passed"] is True
    assert body["data"]["link"] == "https://reports.example.com/support-triage/2026.11.01-1?env=staging"
    assert body["data"]["registry"] == str(registered.root) or body["data"]["registry"].startswith("s3://")

    (event,) = cloud.got
    cloud_body = event.verified(OTHER_SECRET)
    assert event.headers["content-type"] == "application/cloudevents+json"
    assert cloud_body["specversion"] == "1.0" and cloud_body["type"] == "dev.cdevents.service.deployed.0.2.0"
    assert cloud_body["data"]["subject"]["content"]["environment"]["id"] == "staging"
    assert cloud_body["id"] == delivery.headers["webhook-id"]

    (message,) = slack.got
    assert "webhook-signature" not in message.headers
    assert message.json["text"].startswith("*bundle.promoted* support-triage@2026.11.01-1 in staging by tester@example.com")
    log = registered.json("webhooks", "log")
    assert {e["name"]: e["behind"] for e in log["endpoints"]} == {"ops": 0, "deploys": 0, "chat": 0}
    assert log["endpoints"][0]["attempts"][-1]["status"] == 200


def test_a_receiver_down_then_back_gets_every_event_in_order(registered: Workspace, receivers):
    receiver = receivers()
    subscribe(registered, {"ops": endpoint(receiver)})
    receiver.stop()
    ready(registered)
    promote(registered, V1, "staging")
    assert registered.run("pause", "support-triage", "--env", "staging", "--reason", "incident").exit_code == 0
    assert registered.run("resume", "support-triage", "--env", "staging").exit_code == 0
    down = registered.json("webhooks", "log")["endpoints"][0]
    assert down["behind"] == 6 and down["failures"] >= 1
    assert any(a["status"] is None and a["error"] for a in down["attempts"])

    receiver.start()  # back, on the same port
    deliver_until_caught_up(registered)
    assert receiver.types() == ["policy.set", "evidence.added", "evidence.added", "bundle.promoted", "bundle.paused", "bundle.resumed"]
    seqs = [d.verified()["data"]["seq"] for d in receiver.got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    assert registered.json("webhooks", "log")["endpoints"][0]["behind"] == 0
    assert registered.run("verify").exit_code == 0  # delivery state is not a pointer of the log


def test_a_hanging_receiver_never_delays_a_promote_beyond_the_deadline(git_registered: Workspace, receivers, monkeypatch):
    monkeypatch.setenv("BUNDLECTL_WEBHOOK_DEADLINE", "0.5")
    hanging, answering = receivers(hang=20), receivers()
    ready(git_registered)
    subscribe(git_registered, {"slow": endpoint(hanging, events=["bundle.promoted"]), "fast": endpoint(answering, events=["bundle.promoted"])})
    started = time.monotonic()
    promote(git_registered, V1, "staging")
    assert time.monotonic() - started < 10  # the receiver would hold it 20 s
    assert answering.types() == ["bundle.promoted"] and hanging.got == []
    slow = {e["name"]: e for e in git_registered.json("webhooks", "log")["endpoints"]}["slow"]
    assert slow["attempts"][-1]["error"].startswith("no answer within ")  # the request's deadline, or the write's
    assert slow["failures"] == 1 and slow["retry_at"] is not None  # it backs off: the next writes do not wait for it
    hanging.hang = 0
    deliver_until_caught_up(git_registered)
    assert hanging.types() == ["bundle.promoted"]
    assert hanging.got[0].headers["webhook-id"] == answering.got[0].headers["webhook-id"]


def test_410_gone_disables_the_endpoint_until_enabled(git_registered: Workspace, receivers):
    receiver = receivers(status=410)
    ready(git_registered)
    subscribe(git_registered, {"ops": endpoint(receiver, events=["bundle.*"])})
    promote(git_registered, V1, "staging")
    assert git_registered.run("pause", "support-triage", "--env", "staging", "--reason", "x").exit_code == 0
    assert len(receiver.got) == 1  # asked to stop, it is asked nothing more
    state = git_registered.json("webhooks", "log")["endpoints"][0]
    assert state["disabled"].startswith("410 Gone") and state["behind"] == 2
    result = git_registered.run("webhooks", "deliver")
    assert "ops: 0 delivered" in result.output and "disabled: 410 Gone" in result.output and len(receiver.got) == 1

    receiver.status = 200
    assert git_registered.run("webhooks", "enable", "ops").exit_code == 0
    deliver_until_caught_up(git_registered)
    assert receiver.types() == ["bundle.promoted", "bundle.promoted", "bundle.paused"]


def test_a_redirect_is_not_followed(git_registered: Workspace, receivers):
    receiver = receivers(status=307)
    subscribe(git_registered, {"ops": endpoint(receiver)})
    set_policy(git_registered, STAGING)
    attempt = git_registered.json("webhooks", "log")["endpoints"][0]["attempts"][-1]
    assert attempt["status"] == 307 and "redirect, not followed" in attempt["error"]


def test_a_tampered_body_or_a_replay_outside_the_tolerance_fails_verification(git_registered: Workspace, receivers, monkeypatch):
    from standardwebhooks import webhooks
    from standardwebhooks.webhooks import WebhookVerificationError

    receiver = receivers()
    subscribe(git_registered, {"ops": endpoint(receiver)})
    set_policy(git_registered, STAGING)
    (delivery,) = receiver.got
    delivery.verified()
    tampered = delivery.body.replace(b'"policy.set"', b'"bundle.promoted"')
    with pytest.raises(WebhookVerificationError):
        webhooks.Webhook(SECRET).verify(tampered, delivery.headers)
    with pytest.raises(WebhookVerificationError):
        delivery.verified(OTHER_SECRET)

    class Later(datetime):  # the receiver's clock when the same request is replayed ten minutes on
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206 - datetime's signature
            return datetime.now(UTC) + timedelta(minutes=10)

    monkeypatch.setattr(webhooks, "datetime", Later)
    with pytest.raises(WebhookVerificationError, match="too old"):
        delivery.verified()


def test_an_unreadable_secret_is_a_failure_that_names_the_variable(git_registered: Workspace, receivers, monkeypatch):
    receiver = receivers()
    subscribe(git_registered, {"ops": endpoint(receiver)})
    monkeypatch.delenv("HOOK_SECRET")
    set_policy(git_registered, STAGING)  # the write stands; the quick attempt cannot sign
    assert receiver.got == []
    attempt = git_registered.json("webhooks", "log")["endpoints"][0]["attempts"][-1]
    assert attempt["error"] == "endpoint ops: its secret variable HOOK_SECRET is not set"
    monkeypatch.setenv("HOOK_SECRET", "whsec_abcde")
    assert git_registered.run("webhooks", "enable", "ops").exit_code == 0  # now, not after its backoff
    result = git_registered.run("webhooks", "deliver", "--json")
    assert result.exit_code == 0 and "abcde" not in result.output
    attempt = git_registered.json("webhooks", "log")["endpoints"][0]["attempts"][-1]
    assert attempt["error"].startswith("endpoint ops: the secret is not a Standard Webhooks secret")
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    deliver_until_caught_up(git_registered)
    assert receiver.types() == ["policy.set"]


def test_a_secret_never_appears_in_the_registry_the_log_or_any_output(registered: Workspace, receivers, monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(OTHER_SECRET + "\n")
    good, gone, down = receivers(), receivers(status=410), receivers()
    down.stop()
    monkeypatch.setenv("SLACK_URL", good.url + "/T000/B000/slack-token-xyz")
    ready(registered)
    subscribe(
        registered,
        {
            "good": endpoint(good),
            "gone": endpoint(gone),
            "down": endpoint(down),
            "filed": {"url": good.url, "secret": {"file": str(secret_file)}},
            "chat": {"url": {"env": "SLACK_URL"}, "format": "slack"},
        },
    )
    promote(registered, V1, "staging")
    outputs = [
        registered.run(*args)
        for args in (
            ("webhooks", "show", "--json"),
            ("webhooks", "show"),
            ("webhooks", "log", "--json"),
            ("webhooks", "log"),
            ("webhooks", "deliver", "--json"),
            ("promote", V2, "--env", "staging", "--json"),
            ("history", "support-triage", "--env", "staging", "--json"),
        )
    ]
    monkeypatch.delenv("HOOK_SECRET")
    outputs.append(registered.run("webhooks", "deliver", "--json"))
    stored = _everything_stored(registered)
    for secret in (SECRET, OTHER_SECRET, "slack-token-xyz", SECRET.removeprefix("whsec_")):
        assert secret not in stored
        for result in outputs:
            assert secret not in result.output
    assert good.got and all(d.headers.get("webhook-signature") or "text" in d.json for d in good.got)


def _everything_stored(ws: Workspace) -> str:
    """Every byte the registry holds: git objects under refs/bundlectl/ (the log, the state), or every S3 object."""
    storage = ws.storage()
    if ws.backend == "git":
        refs = ws.repo.git.for_each_ref("--format=%(objectname)", "refs/bundlectl/").split()
        return "\n".join(ws.repo.git.cat_file("-p", ref) for ref in refs) + ws.repo.git.log("--format=%B", "refs/bundlectl/log")
    pages = storage.client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket, Prefix=storage.prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    return "\n".join(storage.client.get_object(Bucket=storage.bucket, Key=k)["Body"].read().decode(errors="replace") for k in keys)


def test_concurrent_deliverers_neither_lose_nor_reorder(registered: Workspace, receivers, monkeypatch):
    import threading

    from bundlectl import api

    monkeypatch.setenv("BUNDLECTL_WEBHOOK_DEADLINE", "0")  # no quick attempts: the deliverers do it all
    receiver = receivers(delay=0.01)
    subscribe(registered, {"ops": endpoint(receiver)})
    ready(registered)
    promote(registered, V1, "staging")
    threads = [threading.Thread(target=lambda: api.deliver_webhooks(batch=2)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deliver_until_caught_up(registered)
    seqs = [d.verified()["data"]["seq"] for d in receiver.got]
    first_seen = list(dict.fromkeys(seqs))
    assert first_seen == sorted(first_seen) and len(first_seen) == 4  # duplicates at most, never a gap or a swap
    assert registered.json("webhooks", "log")["endpoints"][0]["acked_seq"] == max(seqs)


def test_no_subscription_means_no_request_and_no_state(git_registered: Workspace, receivers):
    receiver: Receiver = receivers()
    ready(git_registered)
    promote(git_registered, V1, "staging")
    assert receiver.got == []
    assert "state/" not in git_registered.bundlectl_refs()


@pytest.mark.parametrize(
    ("option", "value"),
    [("--timeout", "0"), ("--timeout", "301"), ("--interval", "0"), ("--interval", "3601"), ("--batch", "0")],
)
def test_options_out_of_range_are_refused_before_the_registry_is_opened(workspace: Workspace, tmp_path, option: str, value: str):
    """A usage error (exit 2) whatever the registry: none here, one that cannot be reached, or a working one (nothing written)."""
    message = "are out of range"
    unreachable = workspace.run("webhooks", "deliver", option, value, "--registry", "git+git://127.0.0.1:9/nothing.git")
    assert unreachable.exit_code == 2 and message in unreachable.stderr, unreachable.output
    elsewhere = tmp_path / "no-repository"
    elsewhere.mkdir()
    missing = workspace.run("webhooks", "deliver", option, value, "--registry", str(elsewhere))
    assert missing.exit_code == 2 and message in missing.stderr, missing.output
    assert workspace.run("init").exit_code == 0
    before = workspace.bundlectl_refs()
    result = workspace.run("webhooks", "deliver", option, value)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert workspace.bundlectl_refs() == before
