"""Evaluations through real OpenFeature clients (Python's OFREP provider, Node's): live, promoted, canary, paused."""

from __future__ import annotations

import hashlib
import time

import pytest

from tests.helpers import promote
from tests.serve.clients import PythonClient, node
from tests.serve.conftest import ENV, NAME, V1, V2, wait_until


@pytest.fixture
def python_client(served):
    ws, running = served
    client = PythonClient(running.url)
    yield ws, running, client
    client.close()


def test_the_python_provider_resolves_the_live_bundle_with_its_stamp_and_file_urls(python_client):
    ws, running, client = python_client
    details = client.details("user-1")
    digest = ws.json("show", V1)["digest"]
    assert (details.reason, details.variant, details.error_code) == ("STATIC", "2026.11.01-1", None)
    value = details.value
    assert (value["name"], value["version"], value["digest"], value["env"], value["arm"], value["pointerVersion"]) == (
        NAME,
        "2026.11.01-1",
        digest,
        ENV,
        "live",
        1,
    )
    system = value["components"]["prompt"]["files"]["prompts/system.md"]
    assert system["url"] == f"/v1/bundles/{digest}/files/prompts/system.md"
    assert details.flag_metadata == {
        "bundle.name": NAME,
        "bundle.version": "2026.11.01-1",
        "bundle.digest": digest,
        "bundle.env": ENV,
        "bundle.pointer_version": 1,
        "bundle.arm": "live",
    }
    fetched = running.call("GET", system["url"])
    assert f"sha256:{hashlib.sha256(fetched.body).hexdigest()}" == system["digest"]


def test_a_promote_is_seen_within_the_poll_interval_plus_a_second(python_client):
    ws, running, client = python_client
    promote(ws, V2, ENV)
    promoted = time.monotonic()
    wait_until(lambda: client.details("user-1").variant == "2026.11.22-1", 0.5 + 1)
    assert client.details().value["pointerVersion"] == 2
    assert time.monotonic() - promoted <= 1.5


def test_pause_answers_disabled_with_its_reason_and_the_code_default(python_client):
    ws, running, client = python_client
    assert ws.run("pause", NAME, "--env", ENV, "--reason", "bad answers in prod").exit_code == 0
    wait_until(lambda: client.details("user-1").reason == "DISABLED", 1.5)
    details = client.details("user-1", default={"fallback": True})
    assert details.value == {"fallback": True}  # the service's own fallback path
    assert details.flag_metadata["bundle.pause_reason"] == "bad answers in prod"
    assert details.flag_metadata["bundle.paused_by"] == "tester@example.com"
    node_view = node("resolve", running.url, "user-1")
    assert node_view["value"] == {"fallback": True}  # Node's provider returns the default too
    assert ws.run("resume", NAME, "--env", ENV).exit_code == 0
    wait_until(lambda: client.details("user-1").reason == "STATIC", 1.5)


def test_a_canary_routes_each_key_to_one_arm_with_its_share_for_node_and_python(python_client):
    ws, running, client = python_client
    assert ws.run("promote", V2, "--env", ENV, "--canary", "20", "--step-time", "0m").exit_code == 0
    wait_until(lambda: client.details("user-1").reason == "SPLIT", 1.5)
    seen = node("arms", running.url, "10000")
    arms = seen["arms"]
    assert seen["again"] == arms[:500] and seen["reasons"] == ["SPLIT"]  # sticky: the same key, the same arm
    share = arms.count("candidate") / len(arms)
    assert abs(share - 0.20) < 0.015, share  # 10,000 keys: 4 standard deviations is 0.016
    python_arms = [client.details(f"user-{i}").value["arm"] for i in range(200)]
    assert python_arms == arms[:200]  # both languages, one routing
    candidate = client.details(f"user-{arms.index('candidate')}")
    assert candidate.variant == "2026.11.22-1" and candidate.flag_metadata["bundle.arm"] == "candidate"
    assert isinstance(candidate.flag_metadata["bundle.canary"], int)
    unrouted = client.details(None)  # no targetingKey: the live bundle, outside the comparison
    assert (unrouted.reason, unrouted.value["arm"]) == ("STATIC", "live") and "bundle.canary" not in unrouted.flag_metadata


def test_the_routing_is_the_runtimes(python_client):
    """The server calls the runtime's routing (any routing secret included): the same arms as an in-process runtime."""
    from bundlectl.runtime import Runtime

    ws, running, client = python_client
    assert ws.run("promote", V2, "--env", ENV, "--canary", "50", "--step-time", "0m").exit_code == 0
    wait_until(lambda: client.details("user-1").reason == "SPLIT", 1.5)
    with Runtime(NAME, ENV, cwd=ws.root, follow=False) as runtime:
        expected = [runtime.current(f"k{i}").arm for i in range(100)]
    assert [client.details(f"k{i}").value["arm"] for i in range(100)] == expected


def test_node_resolves_the_live_bundle_sees_a_promote_and_fetches_a_file_by_digest(served):
    ws, running = served
    resolved = node("resolve", running.url, "user-7")
    assert (resolved["reason"], resolved["variant"], resolved["value"]["arm"]) == ("STATIC", "2026.11.01-1", "live")
    assert resolved["flagMetadata"]["bundle.digest"] == ws.json("show", V1)["digest"]
    fetched = node("file", running.url)
    assert fetched["status"] == 200 and fetched["sha256"] == fetched["digest"]
    assert fetched["etag"] == f'"{fetched["digest"].removeprefix("sha256:")}"' and "immutable" in fetched["cacheControl"]
    promote(ws, V2, ENV)
    assert node("wait", running.url, "2026.11.22-1")["ms"] <= 1500
